/** A page draws into `main`; `isCurrent` turns false once the operator has moved on. */
export type Page = (main: HTMLElement, isCurrent: () => boolean) => Promise<void>;
