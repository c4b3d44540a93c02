/// <reference lib="dom" />
/// <reference lib="dom.iterable" />

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/** Creates an element: attributes (`on…` keys become listeners), then children. Text is always text, never HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') element.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'class') element.className = String(value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Sets text only when it changed, so ticking figures do not churn the DOM. */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

/** A copy-to-clipboard button for a value. */
export function copyButton(value: () => string, label = 'Copy'): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'btn btn-ghost btn-small' }, label);
  button.addEventListener('click', () => {
    void navigator.clipboard?.writeText(value()).then(
      () => {
        button.textContent = 'Copied';
        setTimeout(() => (button.textContent = label), 1200);
      },
      () => undefined,
    );
  });
  return button;
}

let fieldIds = 0;

/** A labelled form control: the label names the control (by `for`), a hint describes it. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  control.id ||= `field-${++fieldIds}`;
  const hintEl = hint ? h('small', { class: 'hint muted', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** A status line that screen readers announce when it changes. */
export function statusLine(className = 'status-line'): HTMLParagraphElement {
  return h('p', { class: className, role: 'status', 'aria-live': 'polite' });
}

export function button(label: string, onClick: () => void, variant = 'btn'): HTMLButtonElement {
  const element = h('button', { type: 'button', class: variant }, label);
  element.addEventListener('click', onClick);
  return element;
}
