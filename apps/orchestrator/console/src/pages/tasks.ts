import { api, ApiError } from '../api.js';
import { badge, externalLink, h, replace, shortId, when } from '../dom.js';
import { listPage } from '../list.js';
import { href } from '../router.js';
import { TASK_STATUSES, TASK_TYPES, type TaskSummary } from '../types.js';

const any = (values: string[]): Array<[string, string]> => [
  ['', 'any'],
  ...values.map((v): [string, string] => [v, v]),
];

export function deliveryLink(t: TaskSummary): HTMLElement | string {
  return t.webhook_event_id === null
    ? '—'
    : h('a', { href: href('deliveries', t.webhook_event_id) }, `#${t.webhook_event_id}`);
}

export function repositoryOf(t: { repository: string | null; pr_number: number | null }): string {
  if (!t.repository) return '—';
  return t.pr_number === null ? t.repository : `${t.repository} #${t.pr_number}`;
}

export async function tasksPage(main: HTMLElement, isCurrent: () => boolean): Promise<void> {
  await listPage<TaskSummary>({
    main,
    isCurrent,
    title: 'Tasks',
    section: 'tasks',
    endpoint: '/api/v1/tasks',
    filters: [
      { name: 'status', label: 'Status', options: any(TASK_STATUSES) },
      { name: 'task_type', label: 'Type', options: any(TASK_TYPES) },
      { name: 'repository', label: 'Repository', placeholder: 'owner/name' },
    ],
    columns: ['Task', 'Type', 'Status', 'Repository', 'Created', 'Completed', 'Error', 'Delivery'],
    empty: 'No tasks match.',
    row: (t) => [
      h('span', { class: 'mono', title: t.task_id }, shortId(t.task_id)),
      t.task_type,
      badge(t.status),
      repositoryOf(t),
      when(t.created_at),
      when(t.completed_at),
      t.error_message ? h('span', { class: 'clip' }, t.error_message) : '—',
      deliveryLink(t),
    ],
  });
}

export async function agentRunsPage(main: HTMLElement, isCurrent: () => boolean): Promise<void> {
  await listPage<TaskSummary>({
    main,
    isCurrent,
    title: 'Agent runs',
    section: 'agent-runs',
    intro: h(
      'div',
      {},
      h(
        'p',
        { class: 'muted' },
        'Each Codegen agent run is asked for by a codegen_trigger task; this lists those tasks.',
      ),
      budget(isCurrent),
    ),
    endpoint: '/api/v1/tasks',
    fixed: { task_type: 'codegen_trigger' },
    filters: [
      { name: 'status', label: 'Status', options: any(TASK_STATUSES) },
      { name: 'repository', label: 'Repository', placeholder: 'owner/name' },
    ],
    columns: [
      'Task',
      'Status',
      'Repository',
      'Codegen run',
      'Requested',
      'Ended',
      'Error',
      'Delivery',
    ],
    empty: 'No agent runs match.',
    row: (t) => [
      h('span', { class: 'mono', title: t.task_id }, shortId(t.task_id)),
      badge(t.status),
      repositoryOf(t),
      t.codegen_task_url ? externalLink(t.codegen_task_url, 'open') : '—',
      when(t.created_at),
      when(t.completed_at),
      t.error_message ? h('span', { class: 'clip' }, t.error_message) : '—',
      deliveryLink(t),
    ],
  });
}

interface AgentRunBudget {
  day: string;
  max_runs_per_repo_per_day: number;
  max_runs_per_author_per_day: number;
  repositories: Array<{ repository: string; runs: number; limit: number; remaining: number }>;
}

/** Today's agent-run budgets (GET /api/v1/agent-runs/budget), filled in when it answers. */
function budget(isCurrent: () => boolean): HTMLElement {
  const box = h('section', { class: 'budget', 'aria-labelledby': 'budget-title' });
  void api<AgentRunBudget>('/api/v1/agent-runs/budget').then(
    (b) => {
      if (!isCurrent()) return;
      replace(
        box,
        h('h2', { id: 'budget-title' }, `Today’s budget (${b.day}, UTC)`),
        h(
          'p',
          { class: 'muted' },
          `At most ${b.max_runs_per_repo_per_day} runs per repository and ${b.max_runs_per_author_per_day} per pull-request author a day, unless a repository’s rules say fewer.`,
        ),
        b.repositories.length === 0
          ? h('p', {}, 'No agent run has counted today.')
          : h(
              'div',
              { class: 'table-wrap' },
              h(
                'table',
                {},
                h(
                  'thead',
                  {},
                  h(
                    'tr',
                    {},
                    ...['Repository', 'Runs today', 'Limit', 'Remaining'].map((c) =>
                      h('th', { scope: 'col' }, c),
                    ),
                  ),
                ),
                h(
                  'tbody',
                  {},
                  ...b.repositories.map((r) =>
                    h(
                      'tr',
                      {},
                      h('td', {}, r.repository),
                      h('td', {}, String(r.runs)),
                      h('td', {}, String(r.limit)),
                      h('td', {}, String(r.remaining)),
                    ),
                  ),
                ),
              ),
            ),
        h('h2', {}, 'Runs'),
      );
    },
    (error: unknown) => {
      if (!isCurrent()) return;
      replace(
        box,
        h(
          'p',
          { class: 'error' },
          `The budget could not be read: ${error instanceof ApiError ? error.describe() : String(error)}`,
        ),
      );
    },
  );
  return box;
}
