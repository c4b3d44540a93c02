import { ApiError, createToken, getPipelines, getTokens, isAdmin, revokeToken, storedToken, type PipelineView, type ViewerTokenInfo } from './api';
import { askFirst } from './confirm';
import { copyButton, field, h, statusLine } from './dom';
import { formatAgo, formatTime } from './format';
import { frame, problemPage, tokenGate } from './layout';

const messageOf = (error: unknown) => (error instanceof ApiError ? `${error.message} (${error.code})` : (error as Error).message);

/** `/tokens` (admin): make viewer tokens (the share link shown once), list them with last use, revoke. */
export function renderTokens(): void {
  const { main, connection } = frame([{ label: 'Tokens' }]);
  connection.hidden = true;
  if (!storedToken()) return tokenGate(main);
  main.replaceChildren(h('p', { class: 'muted loading' }, 'Loading tokens…'));
  void isAdmin().then(async (admin) => {
    if (!admin) return problemPage(main, 'Admin only', 'Viewer tokens are managed with the admin token.');
    try {
      const [{ items: pipelines }, listed] = await Promise.all([getPipelines(), getTokens().catch((error: unknown) => error as Error)]);
      // A server without the listing still makes tokens: show the form, and say why the list is missing.
      showTokens(main, pipelines, listed instanceof Error ? [] : listed.items, listed instanceof Error ? messageOf(listed) : null);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) tokenGate(main, 'That token was not accepted. Paste a valid one.');
      else problemPage(main, 'Tokens cannot be read', messageOf(error));
    }
  });
}

function showTokens(main: HTMLElement, pipelines: PipelineView[], initial: ViewerTokenInfo[], listProblem: string | null): void {
  document.title = 'Tokens · Dash';
  const names = new Map(pipelines.map((p) => [p.id, p.name]));
  let tokens = initial;

  const label = h('input', { type: 'text', name: 'label', maxlength: '200', autocomplete: 'off', placeholder: 'Support team' });
  const choices = h(
    'fieldset',
    { class: 'choice' },
    h('legend', {}, 'Pipelines it may read'),
    ...(pipelines.length ? pipelines.map((p) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'pipelines', value: p.id }), ` ${p.name}`)) : [h('p', { class: 'muted' }, 'Create a pipeline first.')]),
  );
  const problem = h('p', { class: 'alert', role: 'alert', hidden: true });
  const created = h('div', {});
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token');
  const form = h('form', { class: 'form' }, field('Label', label, 'Who or what it is for, to find it again.'), choices, problem, h('div', { class: 'form-actions' }, submit));

  const list = h('div', {});
  const listStatus = statusLine();
  /** Where Revoke asks first (below the table: a row has no room for it on a phone). */
  const confirmSlot = h('div', {});
  const renderList = () => {
    if (!tokens.length) return list.replaceChildren(h('p', { class: 'muted' }, listProblem ? `The tokens cannot be listed: ${listProblem}` : 'No viewer tokens yet.'));
    list.replaceChildren(
      h(
        'div',
        { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Viewer tokens' },
        h(
        'table',
        { class: 'table', 'data-testid': 'tokens' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Label'), h('th', { scope: 'col' }, 'Pipelines'), h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, 'Last used'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        h('tbody', {}, ...tokens.map(tokenRow)),
        ),
      ),
    );
  };
  const tokenRow = (token: ViewerTokenInfo) => {
    const revoke = h('button', { type: 'button', class: 'btn btn-danger-ghost btn-small' }, 'Revoke');
    const name = token.label || 'Unlabelled token';
    revoke.setAttribute('aria-expanded', 'false');
    revoke.addEventListener('click', () =>
      askFirst({
        trigger: revoke,
        slot: confirmSlot,
        title: `Revoke ${name}?`,
        detail: 'Its share links stop working at once and the pages open with it disconnect. This cannot be undone: a new token means a new link.',
        yes: `Yes, revoke ${name}`,
        action: async () => {
          await revokeToken(token.id);
          tokens = tokens.filter((t) => t.id !== token.id);
          renderList();
          listStatus.textContent = `${name} revoked: it stops working at once, and its open pages disconnect.`;
        },
      }),
    );
    return h(
      'tr',
      { 'data-token-id': token.id },
      h('th', { scope: 'row' }, token.label ?? h('span', { class: 'muted' }, 'no label')),
      h('td', {}, token.pipelines.map((id) => names.get(id) ?? id).join(', ')),
      h('td', { class: 'nowrap' }, h('time', { datetime: token.createdAt }, formatTime(token.createdAt))),
      h('td', { class: 'nowrap' }, token.lastUsedAt ? h('time', { datetime: token.lastUsedAt, title: formatAgo(Date.now() - Date.parse(token.lastUsedAt)) }, formatTime(token.lastUsedAt)) : h('span', { class: 'muted' }, 'never')),
      h('td', { class: 'actions' }, revoke),
    );
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    problem.hidden = true;
    const chosen = [...form.querySelectorAll<HTMLInputElement>('input[name="pipelines"]:checked')].map((box) => box.value);
    if (!chosen.length) {
      problem.hidden = false;
      problem.textContent = 'Choose at least one pipeline.';
      return;
    }
    submit.disabled = true;
    createToken(chosen, label.value.trim() || undefined).then(
      async ({ token }) => {
        submit.disabled = false;
        // One pipeline: its page; several: the list of those it may read.
        const link = `${location.origin}${chosen.length === 1 ? `/pipelines/${encodeURIComponent(chosen[0])}` : '/'}?token=${encodeURIComponent(token)}`;
        created.replaceChildren(
          h(
            'section',
            { class: 'secret-panel', 'data-testid': 'share-link', 'aria-labelledby': 'share-title' },
            h('h3', { id: 'share-title', tabindex: '-1' }, 'Share link'),
            h('p', { class: 'muted' }, 'Shown this once: copy it now. Whoever opens it can read the chosen pipelines, nothing else, until the token is revoked.'),
            h('div', { class: 'url-row' }, h('code', { class: 'url', 'data-testid': 'link' }, link), copyButton(() => link, 'Copy link')),
          ),
        );
        (created.querySelector('h3') as HTMLElement | null)?.focus();
        form.reset();
        tokens = (await getTokens().catch(() => ({ items: tokens }))).items;
        renderList();
      },
      (error: unknown) => {
        submit.disabled = false;
        problem.hidden = false;
        problem.textContent = messageOf(error);
      },
    );
  });

  renderList();
  main.replaceChildren(
    h('section', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Viewer tokens'), h('p', { class: 'muted' }, 'Read-only access to chosen pipelines, shared as a link.'))),
    h('section', { class: 'card', 'aria-labelledby': 'new-token' }, h('div', { class: 'card-head' }, h('h2', { id: 'new-token' }, 'New token')), form, created),
    h('section', { class: 'card', 'aria-labelledby': 'token-list' }, h('div', { class: 'card-head' }, h('h2', { id: 'token-list' }, 'Tokens')), list, confirmSlot, listStatus),
  );
}
