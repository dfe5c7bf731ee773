/** The banner under the header: why the operator was signed out, what an action did. */
export function showNotice(text: string | null, tone: 'info' | 'error' = 'info'): void {
  const notice = document.getElementById('notice') as HTMLElement;
  notice.hidden = text === null;
  notice.className = `notice ${tone}`;
  notice.textContent = text ?? '';
}
