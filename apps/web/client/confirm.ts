import { ApiError } from './api';
import { button, h } from './dom';

let dialogs = 0;

export interface Confirmation {
  /** The button that asked; it gets `aria-expanded` and the focus back on Cancel. */
  trigger: HTMLButtonElement;
  /** Where the question appears (emptied when it closes). */
  slot: HTMLElement;
  title: string;
  detail: string;
  /** The button that acts, named for what it does: `Yes, delete Orders`. */
  yes: string;
  /** Does it; the dialog closes when it resolves (leaving what it returns in the slot) and says why when it throws. */
  action: () => Promise<Node | void>;
}

/**
 * Asks before something that cannot be undone (delete, rotate, revoke, discard): an
 * alertdialog in `slot` with the consequence, a Yes button and Cancel (focused first, so Enter
 * never destroys by accident). Nothing happens until Yes.
 */
export function askFirst(options: Confirmation): void {
  const { trigger, slot } = options;
  const id = `confirm-${++dialogs}`;
  const problem = h('p', { class: 'alert', role: 'alert', hidden: true });
  const close = (outcome?: Node | void) => {
    slot.replaceChildren(...(outcome ? [outcome] : []));
    trigger.setAttribute('aria-expanded', 'false');
  };
  const yes = button(
    options.yes,
    () => {
      yes.disabled = true;
      options.action().then(close, (error: unknown) => {
        yes.disabled = false;
        problem.hidden = false;
        problem.textContent = error instanceof ApiError ? `${error.message} (${error.code})` : (error as Error).message;
      });
    },
    'btn btn-danger',
  );
  const no = button(
    'Cancel',
    () => {
      close();
      trigger.focus();
    },
    'btn btn-ghost',
  );
  trigger.setAttribute('aria-expanded', 'true');
  slot.replaceChildren(
    h(
      'div',
      { class: 'confirm', role: 'alertdialog', 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-detail` },
      h('h3', { id: `${id}-title` }, options.title),
      h('p', { id: `${id}-detail`, class: 'muted' }, options.detail),
      problem,
      h('div', { class: 'form-actions' }, yes, no),
    ),
  );
  no.focus();
}
