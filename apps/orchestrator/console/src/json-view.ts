import { append, h, replace } from './dom.js';

/** Entries rendered per container before a "show more" button; keeps huge arrays cheap. */
const PAGE = 100;
/** Characters of a string shown before "show all". */
const STRING_PREVIEW = 400;
/** Characters of the plain-text view shown before "show all". */
const TEXT_PREVIEW = 100_000;

/**
 * A JSON value as a collapsible tree. Only what is open is built: a container's children are
 * made when it is first opened, PAGE at a time, so a 1 MiB or deeply nested payload costs what
 * the operator looks at. Everything is text nodes.
 */
export function jsonTree(value: unknown): HTMLElement {
  const root = h('div', { class: 'json-tree' });
  append(root, node(null, value, true));
  return root;
}

function node(key: string | null, value: unknown, open = false): Node {
  const label = key === null ? null : h('span', { class: 'json-key' }, key);
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value)
      ? value.map((v, i): [string, unknown] => [String(i), v])
      : Object.entries(value as Record<string, unknown>);
    const size = Array.isArray(value)
      ? `[${entries.length} item${entries.length === 1 ? '' : 's'}]`
      : `{${entries.length} key${entries.length === 1 ? '' : 's'}}`;
    if (entries.length === 0) {
      return h(
        'div',
        { class: 'json-leaf' },
        label,
        label && ': ',
        Array.isArray(value) ? '[]' : '{}',
      );
    }
    const details = h(
      'details',
      { class: 'json-node' },
      h('summary', {}, label, label && ' ', h('span', { class: 'json-size' }, size)),
    );
    const body = h('div', { class: 'json-children' });
    details.appendChild(body);
    let shown = 0;
    const more = (): void => {
      const stop = Math.min(entries.length, shown + PAGE);
      for (; shown < stop; shown++) body.appendChild(node(entries[shown][0], entries[shown][1]));
      if (shown < entries.length) {
        const button = h(
          'button',
          { type: 'button', class: 'link' },
          `Show ${Math.min(PAGE, entries.length - shown)} more of ${entries.length - shown}`,
        );
        button.addEventListener('click', () => {
          button.remove();
          more();
        });
        body.appendChild(button);
      }
    };
    details.addEventListener('toggle', () => {
      if (details.open && shown === 0) more();
    });
    if (open) {
      details.open = true;
      more();
    }
    return details;
  }
  return h('div', { class: 'json-leaf' }, label, label && ': ', scalar(value));
}

function scalar(value: unknown): Node {
  if (typeof value === 'string') {
    const span = h('span', { class: 'json-string' });
    const quoted = JSON.stringify(value);
    if (quoted.length <= STRING_PREVIEW) {
      span.textContent = quoted;
      return span;
    }
    span.textContent = `${quoted.slice(0, STRING_PREVIEW)}…`;
    const all = h(
      'button',
      { type: 'button', class: 'link' },
      `show all ${value.length} characters`,
    );
    all.addEventListener('click', () => {
      span.textContent = quoted;
      all.remove();
    });
    return h('span', {}, span, ' ', all);
  }
  return h('span', { class: `json-${value === null ? 'null' : typeof value}` }, String(value));
}

/** The payload as indented text; bounded, with a button for the rest. */
export function jsonText(value: unknown): HTMLElement {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return h(
      'p',
      { class: 'muted' },
      'This payload nests too deeply to print as text; use the tree.',
    );
  }
  const pre = h('pre', { class: 'json-text', tabindex: 0 });
  if (text.length <= TEXT_PREVIEW) {
    pre.textContent = text;
    return pre;
  }
  pre.textContent = `${text.slice(0, TEXT_PREVIEW)}\n…`;
  const rest = h(
    'button',
    { type: 'button', class: 'link' },
    `Show all ${text.length.toLocaleString()} characters`,
  );
  rest.addEventListener('click', () => {
    pre.textContent = text;
    rest.remove();
  });
  const box = h('div', {}, pre, rest);
  return box;
}

/** Tree / text switch, plus a copy button. */
export function payloadView(value: unknown): HTMLElement {
  const area = h('div', { class: 'payload-area' });
  let mode: 'tree' | 'text' = 'tree';
  const toggle = h('button', { type: 'button', class: 'secondary' }, 'Show as text');
  const copy = h('button', { type: 'button', class: 'secondary' }, 'Copy JSON');
  const status = h('span', { class: 'muted', role: 'status' });
  const render = (): void => {
    replace(area, mode === 'tree' ? jsonTree(value) : jsonText(value));
    toggle.textContent = mode === 'tree' ? 'Show as text' : 'Show as tree';
  };
  toggle.addEventListener('click', () => {
    mode = mode === 'tree' ? 'text' : 'tree';
    render();
  });
  copy.addEventListener('click', () => {
    let text: string;
    try {
      text = JSON.stringify(value, null, 2);
    } catch {
      status.textContent = 'Too deeply nested to copy as text.';
      return;
    }
    navigator.clipboard.writeText(text).then(
      () => (status.textContent = `Copied ${text.length.toLocaleString()} characters.`),
      () =>
        (status.textContent =
          'The browser refused the clipboard; use “Show as text” and copy from there.'),
    );
  });
  render();
  return h('div', { class: 'payload' }, h('div', { class: 'toolbar' }, toggle, copy, status), area);
}
