import { isAdmin, storeToken, storedToken } from './api';
import { append, h, setText } from './dom';
import { CONNECTION_TEXT, type ConnectionState } from './live';

/** The page frame: brand, breadcrumb, connection state and the token menu. */
export function frame(crumbs: Array<{ label: string; href?: string }>): { main: HTMLElement; connection: HTMLElement } {
  const root = document.getElementById('app') ?? document.body;
  root.replaceChildren();
  const connection = h('span', { class: 'connection', 'data-testid': 'connection', 'data-state': 'connecting', role: 'status', 'aria-live': 'polite' }, CONNECTION_TEXT.connecting);
  const nav = h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' });
  crumbs.forEach((crumb, index) => {
    if (index > 0) append(nav, h('span', { class: 'crumb-sep', 'aria-hidden': 'true' }, '/'));
    append(nav, crumb.href ? h('a', { href: crumb.href }, crumb.label) : h('span', { class: 'crumb-current' }, crumb.label));
  });
  const signOut = h('button', { type: 'button', class: 'btn btn-ghost btn-small' }, 'Change token');
  signOut.addEventListener('click', () => {
    storeToken(null);
    location.reload();
  });
  // The admin's sections; a viewer has only its pipelines, so it gets no menu.
  const sections = h('nav', { class: 'sections', 'aria-label': 'Sections', hidden: true });
  void isAdmin().then((admin) => {
    if (!admin) return;
    for (const [label, href] of [
      ['Pipelines', '/'],
      ['Tokens', '/tokens'],
      ['Cluster', '/cluster'],
    ]) {
      append(sections, h('a', { href, 'aria-current': location.pathname === href ? 'page' : null }, label));
    }
    sections.hidden = false;
    // The menu already says where the admin is: a lone crumb would repeat it.
    if (crumbs.length === 1) nav.hidden = true;
  });
  const header = h(
    'header',
    { class: 'topbar' },
    h('div', { class: 'topbar-inner' }, h('a', { class: 'brand', href: '/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'Dash'), nav, sections, h('div', { class: 'topbar-end' }, connection, storedToken() ? signOut : null)),
  );
  const main = h('main', { class: 'page' });
  append(root, header, main);
  return { main, connection };
}

export function showConnection(element: HTMLElement, state: ConnectionState): void {
  element.dataset.state = state;
  setText(element, CONNECTION_TEXT[state]);
}

/** Asks for a token once; it is kept in this browser. */
export function tokenGate(main: HTMLElement, problem?: string): void {
  const input = h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'off', spellcheck: 'false', placeholder: 'dash_vt_… or the admin token', required: true });
  const form = h(
    'form',
    { class: 'card gate' },
    h('h1', {}, 'Open the dashboard'),
    h('p', { class: 'muted' }, 'Paste an access token: the admin token, or a viewer token made with ', h('code', {}, 'POST /api/tokens'), '. It stays in this browser; share links with ', h('code', {}, '?token='), ' fill it in for you.'),
    problem ? h('p', { class: 'alert', role: 'alert' }, problem) : null,
    h('label', { for: 'token' }, 'Token'),
    h('div', { class: 'gate-row' }, input, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Continue')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    storeToken(input.value.trim());
    location.reload();
  });
  main.replaceChildren(form);
  input.focus();
}

/** A full-page problem with a way out. */
export function problemPage(main: HTMLElement, title: string, detail: string): void {
  main.replaceChildren(h('section', { class: 'card empty' }, h('h1', {}, title), h('p', { class: 'muted' }, detail), h('p', {}, h('a', { class: 'btn btn-ghost', href: '/' }, 'All pipelines'))));
}
