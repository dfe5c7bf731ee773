import { api, ApiError } from '../api.js';
import { confirmAction } from '../confirm.js';
import {
  badge,
  duration,
  externalLink,
  facts,
  h,
  replace,
  safeUrl,
  when,
  type Child,
} from '../dom.js';
import { payloadView } from '../json-view.js';
import { showNotice } from '../notice.js';
import type { Page } from '../page.js';
import { href, navigate } from '../router.js';
import { session } from '../session.js';
import { routingText, tasksBadge } from '../summary.js';
import type { AuditRecord, EventDetail, EventSummary, TaskDetail } from '../types.js';
import { repositoryOf } from './tasks.js';

/** The audit API takes up to 50 targets: the event and its first 49 tasks. */
const AUDIT_TARGETS = 50;

/** `/console/deliveries/<event id or X-GitHub-Delivery id>`: everything about one delivery. */
export function deliveryPage(id: string): Page {
  return async (main, isCurrent) => {
    const event = await load(id);
    if (!isCurrent()) return;
    if (event === null) {
      replace(
        main,
        h('h1', {}, 'Delivery not found'),
        h(
          'p',
          {},
          'No stored delivery has the id ',
          h('code', {}, id),
          '. ',
          h('a', { href: href('deliveries') }, 'Back to deliveries'),
        ),
      );
      return;
    }
    const [tasks, audit] = await Promise.all([
      Promise.all(event.tasks.map((t) => api<TaskDetail>(`/api/v1/tasks/${t.task_id}`))),
      session.isOperator()
        ? api<AuditRecord[]>('/api/v1/admin/audit', {
            query: {
              target: [`event:${event.id}`, ...event.tasks.map((t) => `task:${t.task_id}`)]
                .slice(0, AUDIT_TARGETS)
                .join(','),
              limit: 100,
            },
          })
        : Promise.resolve(null),
    ]);
    if (!isCurrent()) return;
    draw(main, event, tasks, audit);
  };
}

async function load(id: string): Promise<EventDetail | null> {
  let eventId = id;
  if (!/^[1-9]\d{0,15}$/.test(id)) {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) return null;
    const found = await api<EventSummary[]>('/api/v1/webhooks/events', {
      query: { delivery_id: id, limit: 1 },
    });
    if (found.length === 0) return null;
    eventId = String(found[0].id);
  }
  try {
    return await api<EventDetail>(`/api/v1/webhooks/events/${eventId}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function section(title: string, ...content: Child[]): HTMLElement {
  const id = `section-${title.toLowerCase().replaceAll(/[^a-z]+/g, '-')}`;
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...content);
}

function draw(
  main: HTMLElement,
  event: EventDetail,
  tasks: TaskDetail[],
  audit: AuditRecord[] | null,
): void {
  const byStatus: Record<string, number> = {};
  for (const t of tasks) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
  // Tasks with a parent were asked for by an analysis (agent-run triggers), not by routing.
  const routed = tasks.filter((t) => t.parent_task_id === null);
  const followUps = tasks.filter((t) => t.parent_task_id !== null);
  replace(
    main,
    h(
      'p',
      { class: 'crumbs' },
      h('a', { href: href('deliveries') }, 'Deliveries'),
      ' / ',
      `#${event.id}`,
    ),
    h(
      'div',
      { class: 'title-row' },
      h(
        'h1',
        {},
        'Delivery ',
        h('span', { class: 'mono', 'data-testid': 'delivery-id' }, event.delivery_id),
      ),
      tasksBadge(byStatus),
      reprocessControl(event),
    ),
    facts([
      ['Event', event.action ? `${event.event_type} / ${event.action}` : event.event_type],
      ['Repository', event.repository ?? '—'],
      ['Sender', event.sender_login ?? '—'],
      ['Installation', event.installation_id ?? '—'],
      ['Received', h('span', {}, when(event.created_at), ` via ${event.received_via}`)],
      [
        'Processed',
        event.processed ? h('span', {}, 'yes, ', when(event.processing_completed_at)) : 'not yet',
      ],
      [
        'Error',
        event.error_message ? h('span', { class: 'error-text' }, event.error_message) : '—',
      ],
      [
        'Link',
        h(
          'a',
          { href: href('deliveries', event.id) },
          location.origin + href('deliveries', event.id),
        ),
      ],
    ]),
    section(
      'Routing',
      facts([
        [
          'Routing created',
          routingText(routed.length, [...new Set(routed.map((t) => t.task_type))]),
        ],
        [
          'Follow-up tasks',
          followUps.length
            ? routingText(followUps.length, [...new Set(followUps.map((t) => t.task_type))])
            : 'none',
        ],
        [
          'Under today’s rules',
          event.routing.reason
            ? `${event.routing.status} (${event.routing.reason})`
            : event.routing.task_types.length
              ? `${event.routing.status}: ${event.routing.task_types.join(', ')}`
              : event.routing.status,
        ],
      ]),
    ),
    section(
      'Timeline',
      tasks.length === 0
        ? h('p', { class: 'muted' }, 'Routing created no tasks for this delivery.')
        : h('ol', { class: 'timeline' }, ...tasks.map((t) => h('li', {}, taskCard(t)))),
    ),
    section('Audit records', auditView(audit)),
    section('Headers', headersTable(event.headers)),
    section('Payload', payloadSection(event.payload)),
  );
}

function refusalNote(id: string, text: string): HTMLElement {
  return h('span', { class: 'reason', id }, text);
}

function operatorOnly(button: HTMLButtonElement, id: string): HTMLElement | null {
  if (session.isOperator()) return null;
  button.disabled = true;
  button.setAttribute('aria-describedby', id);
  return refusalNote(id, 'Needs the operator role; you are signed in as a viewer.');
}

function reprocessControl(event: EventDetail): HTMLElement {
  const button = h('button', { type: 'button', 'data-action': 'reprocess' }, 'Reprocess');
  const note = operatorOnly(button, 'reprocess-reason');
  button.addEventListener('click', () => void reprocess(event, button));
  return h('div', { class: 'control' }, button, note);
}

async function reprocess(event: EventDetail, button: HTMLButtonElement): Promise<void> {
  const failed = event.processed && event.error_message !== null;
  const creates = event.routing.task_types.length
    ? `The stored payload goes through today’s routing rules again, which creates and queues new tasks: ${event.routing.task_types.join(', ')}.`
    : `Today’s routing rules create no tasks for it (${event.routing.status}${event.routing.reason ? `: ${event.routing.reason}` : ''}), so nothing will be queued.`;
  const body: Child[] = [
    h('p', {}, creates),
    h('p', {}, 'The existing tasks and their executions stay as they are, as history.'),
  ];
  if (!failed) {
    body.push(
      h(
        'p',
        { class: 'warning' },
        event.processed
          ? 'This delivery was processed without error: reprocessing repeats work that succeeded'
          : 'This delivery is still being processed: reprocessing runs its work a second time alongside',
        event.routing.task_types.includes('codegen_trigger') || event.routing.task_types.length > 0
          ? ', and may start another Codegen agent run.'
          : '.',
      ),
    );
  }
  if (
    !(await confirmAction(
      `Reprocess delivery ${event.delivery_id}?`,
      body,
      failed ? 'Reprocess' : 'Reprocess anyway',
    ))
  )
    return;
  button.disabled = true;
  try {
    const result = await api<{ status: string; task_ids: string[] }>(
      `/api/v1/webhooks/events/${event.id}/reprocess`,
      {
        method: 'POST',
        query: { force: failed ? undefined : true },
      },
    );
    navigate(location.pathname + location.search, { replace: true });
    showNotice(
      result.task_ids.length
        ? `Reprocessing: ${result.task_ids.length} new task(s) queued.`
        : 'Reprocessed: routing created no tasks.',
    );
  } catch (error) {
    button.disabled = false;
    showNotice(
      `Reprocess refused: ${error instanceof ApiError ? error.describe() : String(error)}`,
      'error',
    );
  }
}

function retryControl(task: TaskDetail): HTMLElement {
  const button = h(
    'button',
    { type: 'button', class: 'secondary', 'data-action': 'retry' },
    'Retry',
  );
  const reasonId = `retry-reason-${task.task_id}`;
  let note = operatorOnly(button, reasonId);
  if (!note && task.status !== 'failed' && task.status !== 'cancelled') {
    button.disabled = true;
    button.setAttribute('aria-describedby', reasonId);
    note = refusalNote(
      reasonId,
      `Only failed or cancelled tasks can be retried; this one is ${task.status}.`,
    );
  }
  button.addEventListener('click', () => void retry(task, button));
  return h('div', { class: 'control' }, button, note);
}

async function retry(task: TaskDetail, button: HTMLButtonElement): Promise<void> {
  const spent = task.retry_count >= task.max_retries;
  const body: Child[] = [
    h(
      'p',
      {},
      `The ${task.task_type} task goes back to pending and through the queue; a worker runs it again as a new attempt.`,
    ),
  ];
  if (spent)
    body.push(
      h(
        'p',
        { class: 'warning' },
        `It has used all ${task.max_retries} retries; this retries it anyway.`,
      ),
    );
  if (task.task_type === 'codegen_trigger') {
    body.push(
      h(
        'p',
        { class: 'warning' },
        task.codegen_task_id
          ? `It already has Codegen run ${task.codegen_task_id}: the worker follows that run instead of starting another.`
          : 'This may start a Codegen agent run.',
      ),
    );
  }
  if (!(await confirmAction(`Retry task ${task.task_id}?`, body, spent ? 'Retry anyway' : 'Retry')))
    return;
  button.disabled = true;
  try {
    await api(`/api/v1/tasks/${task.task_id}/retry`, {
      method: 'POST',
      query: { force: spent ? true : undefined },
    });
    navigate(location.pathname + location.search, { replace: true });
    showNotice(`Task ${task.task_id} queued again.`);
  } catch (error) {
    button.disabled = false;
    showNotice(
      `Retry refused: ${error instanceof ApiError ? error.describe() : String(error)}`,
      'error',
    );
  }
}

function taskCard(task: TaskDetail): HTMLElement {
  return h(
    'article',
    { class: 'task', 'data-task-id': task.task_id },
    h(
      'header',
      {},
      h('h3', {}, task.task_type),
      badge(task.status),
      h('span', { class: 'mono muted' }, task.task_id),
      retryControl(task),
    ),
    facts([
      ['Created', when(task.created_at)],
      ['Started', when(task.started_at)],
      ['Ended', when(task.completed_at)],
      ['Retries', `${task.retry_count} of ${task.max_retries}`],
      ['Repository', repositoryOf(task)],
      ['Commit', task.commit_sha ? h('span', { class: 'mono' }, task.commit_sha) : '—'],
      ['Error', task.error_message ? h('span', { class: 'error-text' }, task.error_message) : '—'],
    ]),
    task.task_type === 'codegen_trigger' ? agentRun(task) : null,
    executionsTable(task),
  );
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value ? value : null;
}

function agentRun(task: TaskDetail): HTMLElement {
  const out = task.output_data ?? {};
  const commentId =
    typeof out.pr_comment_id === 'number' || typeof out.pr_comment_id === 'string'
      ? String(out.pr_comment_id)
      : null;
  const prUrl =
    task.repository && task.pr_number !== null
      ? safeUrl(`https://github.com/${task.repository}/pull/${task.pr_number}`)
      : null;
  const pullRequests = Array.isArray(out.pull_requests) ? out.pull_requests : [];
  return h(
    'div',
    { class: 'agent-run' },
    h('h4', {}, 'Agent run'),
    facts([
      [
        'Run status',
        text(out.agent_run_status) ??
          (out.dry_run === true
            ? 'dry run (no Codegen token)'
            : out.skipped === true
              ? `skipped: ${text(out.reason) ?? ''}`
              : 'not started'),
      ],
      [
        'Codegen',
        task.codegen_task_url
          ? externalLink(task.codegen_task_url, `run ${task.codegen_task_id ?? ''}`)
          : '—',
      ],
      ['Requested', when(task.agent_run_requested_at ?? text(out.agent_run_started_at))],
      ['Finished', when(text(out.agent_run_finished_at))],
      [
        'PR comment',
        commentId && prUrl
          ? externalLink(`${prUrl}#issuecomment-${commentId}`, `comment ${commentId}`)
          : '—',
      ],
      ['Outcome', text(out.summary) ?? text(out.result) ?? '—'],
      [
        'Pull requests',
        pullRequests.length
          ? h(
              'span',
              {},
              ...pullRequests.map((pr) =>
                externalLink(
                  (pr as { url?: unknown }).url ?? (pr as { html_url?: unknown }).html_url,
                  undefined,
                ),
              ),
            )
          : '—',
      ],
    ]),
  );
}

function executionsTable(task: TaskDetail): HTMLElement {
  if (task.executions.length === 0) return h('p', { class: 'muted' }, 'No attempt yet.');
  const rows = [...task.executions].sort((a, b) => a.attempt - b.attempt || a.id - b.id);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'executions' },
      h('caption', {}, 'Executions'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Attempt', 'Status', 'Worker', 'Queue', 'Started', 'Duration', 'Error'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...rows.map((x) =>
          h(
            'tr',
            {},
            h('td', {}, String(x.attempt)),
            h('td', {}, badge(x.status)),
            h('td', { class: 'mono' }, x.worker_id),
            h('td', {}, x.queue_name),
            h('td', {}, when(x.started_at)),
            h('td', {}, duration(x.duration_ms)),
            h(
              'td',
              {},
              x.error_message ? h('span', { class: 'error-text' }, x.error_message) : '—',
            ),
          ),
        ),
      ),
    ),
  );
}

function auditView(records: AuditRecord[] | null): Child {
  if (records === null)
    return h(
      'p',
      { class: 'muted' },
      'Audit records are shown to operators only (the audit API needs the operator role).',
    );
  if (records.length === 0)
    return h('p', { class: 'muted' }, 'No reprocess or retry has been recorded for this delivery.');
  return h(
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
          ...['When', 'Action', 'Outcome', 'Who', 'Target', 'Reason'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...records.map((r) =>
          h(
            'tr',
            {},
            h('td', {}, when(r.occurred_at)),
            h('td', {}, r.type),
            h('td', {}, badge(r.outcome)),
            h('td', {}, r.actor ? `${r.actor} (${r.role ?? '?'})` : '—'),
            h('td', { class: 'mono' }, r.target ?? '—'),
            h('td', {}, r.reason ?? '—'),
          ),
        ),
      ),
    ),
  );
}

function headersTable(headers: Record<string, string>): Child {
  const entries = Object.entries(headers);
  if (entries.length === 0) return h('p', { class: 'muted' }, 'No headers were stored.');
  return facts(
    entries.map(([name, value]): [string, Child] => [name, h('span', { class: 'mono' }, value)]),
  );
}

/** The payload view is built only when opened: a large payload costs nothing until then. */
function payloadSection(payload: unknown): HTMLElement {
  const details = h('details', { class: 'payload-section' }, h('summary', {}, 'Show the payload'));
  details.addEventListener('toggle', () => {
    if (details.open && details.childElementCount === 1) details.appendChild(payloadView(payload));
  });
  return details;
}
