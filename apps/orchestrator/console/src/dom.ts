/**
 * Builds elements from plain values. Text always goes in as text nodes (never HTML): the page's
 * CSP requires Trusted Types with no policy, so an HTML sink would throw anyway.
 */
export type Child = Node | string | number | null | undefined | false;

export interface Attributes {
  [name: string]: string | number | boolean | null | undefined | EventListener;
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') {
      element.addEventListener(name.replace(/^on/, ''), value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces everything inside `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** Only http(s) links are made clickable: a `javascript:` URL from stored data stays text. */
export function safeUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** An external link, or the text itself when the value is not an http(s) URL. */
export function externalLink(value: unknown, label?: string): Child {
  const href = safeUrl(value);
  if (href === null) return typeof value === 'string' ? value : null;
  return h('a', { href, rel: 'noopener noreferrer', target: '_blank' }, label ?? href);
}

const dateFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'medium',
});

export function when(iso: string | null | undefined): Child {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return h(
    'time',
    { datetime: date.toISOString(), title: date.toISOString() },
    dateFormat.format(date),
  );
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A status word with a colour class; the word itself carries the meaning (not colour alone). */
export function badge(status: string, tone?: Tone): HTMLElement {
  return h('span', { class: `badge ${tone ?? toneOf(status)}` }, status);
}

export type Tone = 'good' | 'bad' | 'busy' | 'quiet' | 'warn';

export function toneOf(status: string): Tone {
  switch (status) {
    case 'completed':
    case 'healthy':
    case 'up':
    case 'ok':
    case 'succeeded':
      return 'good';
    case 'failed':
    case 'unhealthy':
    case 'down':
    case 'denied':
      return 'bad';
    case 'running':
    case 'queued':
    case 'pending':
    case 'in progress':
    case 'retrying':
      return 'busy';
    case 'degraded':
    case 'throttled':
    case 'refused':
      return 'warn';
    default:
      return 'quiet';
  }
}

/** A two-column list of facts. */
export function facts(rows: Array<[string, Child]>): HTMLElement {
  const list = h('dl', { class: 'facts' });
  for (const [name, value] of rows) append(list, h('dt', {}, name), h('dd', {}, value ?? '—'));
  return list;
}

export function shortId(id: string): string {
  return id.length > 13 ? `${id.slice(0, 8)}…` : id;
}
