import { api, ApiError } from './api.js';
import { h, replace, type Child } from './dom.js';
import { currentRoute, href, navigate } from './router.js';

export const PAGE_SIZE = 25;

export interface Filter {
  name: string;
  label: string;
  /** A select with these options (value, label); a text field when absent. */
  options?: Array<[string, string]>;
  placeholder?: string;
  pattern?: string;
}

/**
 * A filter form, a table and Newer/Older paging, all driven by the URL's query string, so a
 * filtered page can be shared. Rows come from one API list call (limit + 1 tells if there is more).
 */
export async function listPage<T>(options: {
  main: HTMLElement;
  isCurrent: () => boolean;
  title: string;
  section: string;
  intro?: Child;
  filters: Filter[];
  fixed?: Record<string, string>;
  endpoint: string;
  columns: string[];
  row: (item: T) => Child[];
  empty: string;
}): Promise<void> {
  const { main, isCurrent, filters } = options;
  const query = currentRoute().query;
  const offset = Math.max(0, Number.parseInt(query.get('offset') ?? '0', 10) || 0);
  const values: Record<string, string> = {};
  for (const f of filters) values[f.name] = query.get(f.name) ?? '';

  const form = h('form', {
    class: 'filters',
    role: 'search',
    'aria-label': `Filter ${options.title.toLowerCase()}`,
  });
  for (const f of filters) {
    const id = `filter-${f.name}`;
    const control = f.options
      ? h(
          'select',
          { id, name: f.name },
          ...f.options.map(([value, label]) =>
            h('option', { value, selected: values[f.name] === value }, label),
          ),
        )
      : h('input', {
          id,
          name: f.name,
          type: 'search',
          value: values[f.name],
          placeholder: f.placeholder,
          pattern: f.pattern,
          autocomplete: 'off',
        });
    form.appendChild(h('div', { class: 'field' }, h('label', { for: id }, f.label), control));
  }
  const clear = h('a', { href: href(options.section), class: 'button secondary' }, 'Clear');
  form.appendChild(
    h('div', { class: 'field actions' }, h('button', { type: 'submit' }, 'Apply'), clear),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next: Record<string, string> = {};
    for (const f of filters) {
      const value = data.get(f.name);
      next[f.name] = typeof value === 'string' ? value.trim() : '';
    }
    navigate(href(options.section, null, next));
  });

  const results = h(
    'div',
    { class: 'results', 'aria-live': 'polite' },
    h('p', { class: 'muted' }, 'Loading…'),
  );
  replace(main, h('h1', {}, options.title), options.intro, form, results);

  let items: T[];
  try {
    items = await api<T[]>(options.endpoint, {
      query: { ...options.fixed, ...values, limit: PAGE_SIZE + 1, offset },
    });
  } catch (error) {
    if (!isCurrent()) return;
    replace(
      results,
      h(
        'p',
        { class: 'error', role: 'alert' },
        error instanceof ApiError ? error.describe() : String(error),
      ),
    );
    return;
  }
  if (!isCurrent()) return;
  const more = items.length > PAGE_SIZE;
  const rows = items.slice(0, PAGE_SIZE);
  if (rows.length === 0) {
    replace(results, h('p', { class: 'empty' }, offset > 0 ? 'No more rows.' : options.empty));
  } else {
    const table = h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...options.columns.map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        ...rows.map((item) => h('tr', {}, ...options.row(item).map((cell) => h('td', {}, cell)))),
      ),
    );
    replace(results, h('div', { class: 'table-wrap' }, table));
  }
  const pageLink = (label: string, at: number, enabled: boolean): Child =>
    enabled
      ? h(
          'a',
          {
            class: 'button secondary',
            href: href(options.section, null, { ...values, offset: at || undefined }),
          },
          label,
        )
      : h('span', { class: 'button secondary disabled', 'aria-disabled': 'true' }, label);
  results.appendChild(
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Pages' },
      pageLink('← Newer', Math.max(0, offset - PAGE_SIZE), offset > 0),
      h(
        'span',
        { class: 'muted' },
        rows.length ? `Rows ${offset + 1}–${offset + rows.length}` : '',
      ),
      pageLink('Older →', offset + PAGE_SIZE, more),
    ),
  );
}

export const YES_NO: Array<[string, string]> = [
  ['', 'any'],
  ['true', 'yes'],
  ['false', 'no'],
];
