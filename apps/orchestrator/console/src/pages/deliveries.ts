import { h, shortId, when } from '../dom.js';
import { listPage, YES_NO } from '../list.js';
import { href } from '../router.js';
import { routingText, tasksBadge } from '../summary.js';
import type { EventSummary } from '../types.js';

const EVENTS: Array<[string, string]> = [
  ['', 'any'],
  ...[
    'pull_request',
    'check_run',
    'check_suite',
    'push',
    'ping',
    'installation',
    'installation_repositories',
  ].map((e): [string, string] => [e, e]),
];

export async function deliveriesPage(main: HTMLElement, isCurrent: () => boolean): Promise<void> {
  await listPage<EventSummary>({
    main,
    isCurrent,
    title: 'Deliveries',
    section: 'deliveries',
    endpoint: '/api/v1/webhooks/events',
    filters: [
      { name: 'event_type', label: 'Event', options: EVENTS },
      { name: 'processed', label: 'Processed', options: YES_NO },
      { name: 'failed', label: 'Failed', options: YES_NO },
      { name: 'repository', label: 'Repository', placeholder: 'owner/name' },
      { name: 'delivery_id', label: 'Delivery id', placeholder: 'X-GitHub-Delivery' },
    ],
    columns: ['Delivery', 'Event', 'Repository', 'Received', 'Tasks created', 'Status'],
    empty: 'No deliveries match.',
    row: (e) => [
      h(
        'a',
        { href: href('deliveries', e.id), title: e.delivery_id, class: 'mono' },
        shortId(e.delivery_id),
      ),
      e.action ? `${e.event_type} / ${e.action}` : e.event_type,
      e.repository ?? '—',
      when(e.created_at),
      routingText(e.tasks.total, e.tasks.task_types),
      tasksBadge(e.tasks.by_status),
    ],
  });
}
