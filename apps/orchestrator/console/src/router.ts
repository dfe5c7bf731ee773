/** Console URLs: `/console/<section>[/<id>]?<filters>`; each one can be pasted into a chat. */
export const BASE = '/console';

export interface Route {
  section: string;
  id: string | null;
  query: URLSearchParams;
}

export function currentRoute(): Route {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
  const [section = '', id = null] = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { section, id, query: new URLSearchParams(location.search) };
}

let render: () => void = () => undefined;

export function onNavigate(handler: () => void): void {
  render = handler;
  window.addEventListener('popstate', () => render());
  // Same-origin console links are followed without a page load; modifier clicks open tabs.
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element | null)?.closest('a');
    if (!link || link.target || link.origin !== location.origin) return;
    if (!link.pathname.startsWith(BASE) || link.pathname.startsWith(`${BASE}/assets/`)) return;
    event.preventDefault();
    navigate(link.pathname + link.search);
  });
}

export function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

export function href(
  section: string,
  id?: string | number | null,
  query?: Record<string, string | number | undefined>,
): string {
  let url = `${BASE}/${section}`;
  if (id !== undefined && id !== null) url += `/${encodeURIComponent(String(id))}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') params.set(name, String(value));
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  return url;
}
