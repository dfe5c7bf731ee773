import { badge, externalLink, h, shortId, when } from '../dom.js';
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
      'p',
      { class: 'muted' },
      'Each Codegen agent run is asked for by a codegen_trigger task; this lists those tasks.',
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
