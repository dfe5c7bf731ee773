import { append, type Child } from './dom.js';

/**
 * Asks before an action, in a modal dialog that says what will happen. Resolves true only on
 * "Confirm"; Escape, Cancel or a click outside resolve false. The dialog traps focus natively.
 */
export function confirmAction(
  title: string,
  body: Child[],
  confirmLabel: string,
): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  const heading = document.getElementById('confirm-title') as HTMLElement;
  const content = document.getElementById('confirm-body') as HTMLElement;
  const ok = document.getElementById('confirm-ok') as HTMLButtonElement;
  const cancel = document.getElementById('confirm-cancel') as HTMLButtonElement;
  heading.textContent = title;
  content.replaceChildren();
  append(content, ...body);
  ok.textContent = confirmLabel;
  return new Promise((resolve) => {
    let answer = false;
    const onOk = (): void => {
      answer = true;
      dialog.close();
    };
    const onCancel = (): void => dialog.close();
    const onClose = (): void => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      resolve(answer);
    };
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    cancel.focus();
  });
}
