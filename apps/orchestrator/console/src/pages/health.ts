import { duration, facts, h, replace, toneOf, when, type Child } from '../dom.js';

interface HealthBody {
  status: string;
  timestamp: string;
  uptime: number;
  checks: Record<string, string>;
  details: Record<string, unknown>;
}

const CHECK_NAMES: Record<string, string> = {
  database: 'PostgreSQL',
  redis: 'Redis',
  workers: 'Workers',
  github_api: 'GitHub API',
  codegen_api: 'Codegen API',
};

function light(status: string): HTMLElement {
  return h('span', { class: `light ${toneOf(status)}`, 'aria-hidden': 'true' });
}

/** A detail value as text: nested objects become `key value` pairs. */
function detail(value: unknown): Child {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (typeof value !== 'object') return '—';
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '—';
  return entries
    .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

/** `/health` (public, the same body monitoring reads) as status lights. */
export async function healthPage(main: HTMLElement, isCurrent: () => boolean): Promise<void> {
  let body: HealthBody;
  try {
    const response = await fetch('/health', {
      cache: 'no-store',
      headers: { Accept: 'application/json' },
    });
    body = (await response.json()) as HealthBody;
  } catch (error) {
    if (!isCurrent()) return;
    replace(
      main,
      h('h1', {}, 'Health'),
      h(
        'p',
        { class: 'error', role: 'alert' },
        `The orchestrator did not answer: ${String(error)}`,
      ),
    );
    return;
  }
  if (!isCurrent()) return;
  const refresh = h('a', { class: 'button secondary', href: location.pathname }, 'Refresh');
  replace(
    main,
    h('h1', {}, 'Health'),
    h(
      'p',
      { class: 'overall' },
      light(body.status),
      h('strong', { 'data-testid': 'overall' }, body.status),
      ' as of ',
      when(body.timestamp),
      ' · up ',
      duration(Math.round(body.uptime * 1000)),
      ' ',
      refresh,
    ),
    h(
      'ul',
      { class: 'lights' },
      ...Object.entries(body.checks).map(([name, status]) =>
        h(
          'li',
          { 'data-check': name },
          light(status),
          h('span', { class: 'check-name' }, CHECK_NAMES[name] ?? name),
          ' ',
          h('span', { class: 'check-status' }, status),
        ),
      ),
    ),
    h('h2', {}, 'Details'),
    facts(
      Object.entries(body.details).map(([name, value]): [string, Child] => [
        CHECK_NAMES[name] ?? name.replaceAll('_', ' '),
        detail(value),
      ]),
    ),
  );
}
