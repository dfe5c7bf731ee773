import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import examples from '@octokit/webhooks-examples';
import Bull, { Queue } from 'bull';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { createLogger, transports } from 'winston';
import { TaskType, WorkflowRules } from '@app/domain';
import { AuditTrail, DomainError, ErrorCode, WorkerHeartbeats } from '@app/platform';
import {
  AgentRunOutcomeRepository,
  AuditLogRepository,
  InstallationRepository,
  IntakeStore,
  IntakeStoreOptions,
  pgPoolOf,
  TaskCreationRepository,
  TaskExecutionRepository,
  TaskLifecycleRepository,
  TaskRelayRepository,
  WebhookEventRepository,
} from '@app/persistence';
import {
  QueueName,
  RunTaskJob,
  SystemStateCollector,
  TaskEnqueuer,
  TaskTelemetry,
} from '@app/runtime';
import { signGithubPayload } from '@app/github';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { loadOrchestratorConfig, OrchestratorConfig } from '../config/orchestrator.config';
import { IntakeTelemetry } from '../metrics/intake-telemetry';
import { WebhookAcceptedDto } from './dto/webhook-accepted.dto';
import { WebhookIntakeService } from './webhook-intake.service';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GitHub's examples are mutated freely to build variants
type Payload = Record<string, any>;

const db = useUnitDatabase();
const SECRET = 'unit-intake-secret';
const OTHER_SECRET = 'rotated-in-secret';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const prefix = `unit_intake_${Date.now().toString(36)}_${process.pid}`;
const logger = createLogger({ transports: [new transports.Console({ silent: true })] });

const definitions = examples as unknown as Array<{ name: string; examples: Payload[] }>;

/** A deep copy of GitHub's first published example of `event` that matches `filter`. */
function exampleOf(event: string, filter: (p: Payload) => boolean = () => true): Payload {
  const found = definitions.find((d) => d.name === event)?.examples.find(filter);
  if (!found) throw new Error(`no example of ${event}`);
  return structuredClone(found);
}

let queues: Record<QueueName.Analysis | QueueName.Codegen, Queue<RunTaskJob>>;

beforeAll(async () => {
  // Real Bull on the shared Redis, under a prefix of this file's own.
  queues = {
    [QueueName.Analysis]: new Bull<RunTaskJob>(QueueName.Analysis, redisUrl, { prefix }),
    [QueueName.Codegen]: new Bull<RunTaskJob>(QueueName.Codegen, redisUrl, { prefix }),
  };
  await Promise.all(Object.values(queues).map((q) => q.isReady()));
});

afterAll(async () => {
  for (const queue of Object.values(queues)) {
    await queue.obliterate({ force: true });
    await queue.close();
  }
});

interface Intake {
  service: WebhookIntakeService;
  audit: AuditTrail;
  enqueuer: TaskEnqueuer;
  config: OrchestratorConfig;
}

let intake: Intake;
/** Stores built by the tests, whose own pools are closed after each test. */
const stores: IntakeStore[] = [];

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.onApplicationShutdown()));
});

/**
 * The service as the orchestrator builds it, over the unit database and real Bull queues: its
 * store statement limited to INTAKE_STORE_TIMEOUT_MS by PostgreSQL, unless `storeOptions` says
 * otherwise.
 */
function buildIntake(
  env: Record<string, string> = {},
  adjust: (c: OrchestratorConfig) => OrchestratorConfig = (c) => c,
  storeOptions?: IntakeStoreOptions,
): Intake {
  const config = adjust(
    loadOrchestratorConfig({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused',
      GITHUB_WEBHOOK_SECRET: `${SECRET},${OTHER_SECRET}`,
      SECRET_KEY: 'k'.repeat(32),
      ...env,
    }),
  );
  const events = new WebhookEventRepository();
  const lifecycle = new TaskLifecycleRepository(
    db.dataSource,
    events,
    new TaskExecutionRepository(db.dataSource),
    new TaskCreationRepository(),
  );
  const store = new IntakeStore(
    db.dataSource,
    events,
    new InstallationRepository(),
    lifecycle,
    storeOptions ?? { statementTimeoutMs: config.intakeStoreTimeoutMs },
  );
  stores.push(store);
  const enqueuer = new TaskEnqueuer(queues, new TaskRelayRepository(db.dataSource), logger, 5000);
  const registry = new Registry();
  // Flushed by the tests themselves (no timer), into the real audit_log table.
  const audit = new AuditTrail(new AuditLogRepository(db.dataSource), logger, null);
  const service = new WebhookIntakeService(
    config,
    store,
    enqueuer,
    logger,
    new IntakeTelemetry(registry, new TaskTelemetry(registry, Object.values(TaskType))),
    audit,
  );
  return { service, audit, enqueuer, config };
}

beforeEach(async () => {
  for (const queue of Object.values(queues)) await queue.obliterate({ force: true });
  intake = buildIntake();
});

interface Delivery {
  event: string;
  body: string | Buffer;
  deliveryId?: string;
  headers?: Record<string, string | undefined>;
  secret?: string | null;
  client?: string;
}

/** A request as Node hands it to the intake: headers plus a body stream. */
function request(d: Delivery): IncomingMessage {
  const body = typeof d.body === 'string' ? Buffer.from(d.body) : d.body;
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'x-github-delivery': d.deliveryId ?? randomUUID(),
    'x-github-event': d.event,
    'x-hub-signature-256':
      d.secret === null ? undefined : signGithubPayload(body, d.secret ?? SECRET),
    'user-agent': 'GitHub-Hookshot/unit',
    authorization: 'Bearer must-not-be-stored',
    ...d.headers,
  };
  for (const name of Object.keys(headers)) if (headers[name] === undefined) delete headers[name];
  const req = Readable.from([body]) as unknown as IncomingMessage;
  req.headers = headers;
  return req;
}

type Answer =
  { ok: true; body: WebhookAcceptedDto; deliveryId: string } | { ok: false; error: DomainError };

async function send(d: Delivery, service = intake.service): Promise<Answer> {
  const deliveryId = d.deliveryId ?? randomUUID();
  try {
    const body = await service.receive(request({ ...d, deliveryId }), () => d.client ?? '10.0.0.1');
    return { ok: true, body, deliveryId };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { ok: false, error };
  }
}

async function accepted(d: Delivery, service?: WebhookIntakeService): Promise<WebhookAcceptedDto> {
  const answer = await send(d, service);
  if (!answer.ok) throw new Error(`refused: ${answer.error.code} ${answer.error.message}`);
  return answer.body;
}

async function refused(d: Delivery, service?: WebhookIntakeService): Promise<DomainError> {
  const answer = await send(d, service);
  if (answer.ok) throw new Error(`accepted: ${JSON.stringify(answer.body)}`);
  return answer.error;
}

interface EventRow {
  id: string;
  delivery_id: string;
  event_type: string;
  action: string | null;
  repository: string | null;
  installation_id: string | null;
  sender_login: string | null;
  processed: boolean;
  headers: Record<string, string>;
  payload: Payload;
}

function eventRows(): Promise<EventRow[]> {
  return db.rows<EventRow>(
    `SELECT id, delivery_id, event_type, action, repository, installation_id, sender_login,
            processed, headers, payload FROM webhook_events ORDER BY id`,
  );
}

interface TaskRow {
  task_id: string;
  webhook_event_id: string;
  task_type: string;
  status: string;
  repository: string | null;
  pr_number: number | null;
  branch: string | null;
  commit_sha: string | null;
  max_retries: number;
  input_data: Payload;
}

function taskRows(): Promise<TaskRow[]> {
  return db.rows<TaskRow>(
    `SELECT task_id, webhook_event_id, task_type, status, repository, pr_number, branch,
            commit_sha, max_retries, input_data FROM workflow_tasks ORDER BY id`,
  );
}

async function count(table: string): Promise<number> {
  const [row] = await db.rows<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return row.n;
}

/** Nothing of the delivery anywhere: no event, delivery id, digest or task. */
async function expectNothingStored(): Promise<void> {
  for (const table of [
    'webhook_events',
    'webhook_deliveries',
    'webhook_payload_digests',
    'workflow_tasks',
  ]) {
    expect(`${table}: ${await count(table)}`).toBe(`${table}: 0`);
  }
}

async function auditRows(): Promise<
  Array<{ type: string; outcome: string; reason: string; client_address: string; count: number }>
> {
  await intake.audit.flush();
  return db.rows('SELECT type, outcome, reason, client_address, count FROM audit_log ORDER BY id');
}

/** Waits for the enqueue that follows the answer (it runs after the answer, by design). */
async function jobIds(queue: QueueName.Analysis | QueueName.Codegen, n: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const jobs = await queues[queue].getJobs(['waiting', 'delayed']);
    if (jobs.length >= n || Date.now() > deadline) return jobs.map((j) => String(j.id)).sort();
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pullRequestOpened = (): Payload => exampleOf('pull_request', (p) => p.action === 'opened');
const failedCheckRun = (): Payload =>
  exampleOf('check_run', (p) => p.action === 'completed' && p.check_run.conclusion === 'failure');

describe('WebhookIntakeService: routing', () => {
  it('stores a pull request opened with one pull_request_analysis task and queues it', async () => {
    const payload = pullRequestOpened();
    const answer = await accepted({ event: 'pull_request', body: JSON.stringify(payload) });
    const [task] = await taskRows();
    expect(answer).toEqual({
      status: 'accepted',
      delivery_id: expect.any(String),
      event_type: 'pull_request',
      result: {
        status: 'queued',
        task_id: task.task_id,
        task_type: 'pull_request_analysis',
        action: 'opened',
      },
    });
    const [event] = await eventRows();
    expect(event).toMatchObject({
      delivery_id: answer.delivery_id,
      event_type: 'pull_request',
      action: 'opened',
      repository: 'Codertocat/Hello-World',
      sender_login: 'Codertocat',
      processed: false,
      payload,
    });
    expect(task).toMatchObject({
      webhook_event_id: event.id,
      task_type: 'pull_request_analysis',
      repository: 'Codertocat/Hello-World',
      pr_number: 2,
      branch: 'changes',
      commit_sha: payload.pull_request.head.sha,
      max_retries: 3,
    });
    expect(task.input_data).toMatchObject({ action: 'opened', pr_number: 2, is_fork: false });
    expect(await jobIds(QueueName.Analysis, 1)).toEqual([task.task_id]);
    await intake.enqueuer.flush();
    expect((await taskRows())[0].status).toBe('queued');
  });

  it('keeps the GitHub headers worth keeping, never credentials or the signature', async () => {
    await accepted({
      event: 'pull_request',
      body: JSON.stringify(pullRequestOpened()),
      headers: { cookie: 'session=secret', 'x-github-hook-id': '42' },
    });
    const [event] = await eventRows();
    expect(Object.keys(event.headers).sort()).toEqual([
      'content-length',
      'content-type',
      'user-agent',
      'x-github-delivery',
      'x-github-event',
      'x-github-hook-id',
    ]);
    expect(JSON.stringify(event.headers)).not.toMatch(/secret|Bearer|sha256=/);
  });

  it('stores a push to the default branch with one push_analysis task', async () => {
    const payload = exampleOf('push', (p) => p.ref === 'refs/heads/master');
    const answer = await accepted({ event: 'push', body: JSON.stringify(payload) });
    const [task] = await taskRows();
    expect(answer.result).toEqual({
      status: 'queued',
      task_id: task.task_id,
      task_type: 'push_analysis',
      action: null,
    });
    expect(task).toMatchObject({ branch: 'master', commit_sha: payload.after, pr_number: null });
    expect(await jobIds(QueueName.Analysis, 1)).toEqual([task.task_id]);
  });

  it('fans a failed check run out to one check_failure_analysis per linked pull request, always with a count', async () => {
    const payload = failedCheckRun();
    const second = structuredClone(payload.check_run.pull_requests[0]);
    second.number = 3;
    payload.check_run.pull_requests.push(second);
    const answer = await accepted({ event: 'check_run', body: JSON.stringify(payload) });
    const tasks = await taskRows();
    expect(tasks.map((t) => [t.task_type, t.pr_number])).toEqual([
      ['check_failure_analysis', 2],
      ['check_failure_analysis', 3],
    ]);
    expect(answer.result).toEqual({
      status: 'queued',
      tasks_created: 2,
      task_ids: tasks.map((t) => t.task_id),
      action: 'completed',
    });
    // Even a single check task is reported as a count: check events can fan out.
    payload.check_run.pull_requests.pop();
    payload.check_run.id += 1;
    const one = await accepted({ event: 'check_run', body: JSON.stringify(payload) });
    expect(one.result).toMatchObject({ tasks_created: 1, task_ids: [expect.any(String)] });
  });

  it('stores a failed check suite with one check_suite_failure_analysis per linked pull request', async () => {
    const payload = exampleOf(
      'check_suite',
      (p) => p.action === 'completed' && p.check_suite.pull_requests.length === 1,
    );
    payload.check_suite.conclusion = 'failure';
    const answer = await accepted({ event: 'check_suite', body: JSON.stringify(payload) });
    const tasks = await taskRows();
    expect(tasks.map((t) => t.task_type)).toEqual(['check_suite_failure_analysis']);
    expect(answer.result).toMatchObject({ status: 'queued', tasks_created: 1 });
  });

  it.each([
    [
      'pull_request',
      () => exampleOf('pull_request', (p) => p.action === 'closed'),
      'action_not_handled:closed',
    ],
    [
      'check_run',
      () => exampleOf('check_run', (p) => p.check_run.conclusion === 'success'),
      'conclusion_not_failing:success',
    ],
    ['push', () => exampleOf('push', (p) => p.ref.startsWith('refs/tags/')), 'tag_ref'],
    ['issues', () => exampleOf('issues', (p) => p.action === 'opened'), 'unsupported_event_type'],
  ])(
    'acknowledges an ignored %s delivery, stores it processed and creates no task',
    async (event, payload, reason) => {
      const answer = await accepted({ event, body: JSON.stringify(payload()) });
      expect(answer.result).toMatchObject({ status: 'ignored', reason });
      const [row] = await eventRows();
      expect(row).toMatchObject({ event_type: event, processed: true });
      expect(await count('workflow_tasks')).toBe(0);
    },
  );

  it('ignores a task event the workflow rules turn off (disabled_by_rules), storing it', async () => {
    const base = intake.config.rules.forRepository(null);
    const { service } = buildIntake({}, (c) => ({
      ...c,
      rules: new WorkflowRules({ ...base, events: ['pull_request'] }),
    }));
    const answer = await accepted(
      {
        event: 'push',
        body: JSON.stringify(exampleOf('push', (p) => p.ref === 'refs/heads/master')),
      },
      service,
    );
    expect(answer.result).toMatchObject({ status: 'ignored', reason: 'disabled_by_rules' });
    expect(await count('webhook_events')).toBe(1);
    expect(await count('workflow_tasks')).toBe(0);
  });

  it('answers a ping with a pong, and accepts GitHub repeating a byte-identical ping', async () => {
    const payload = exampleOf('ping', (p) => typeof p.hook_id === 'number');
    const body = JSON.stringify(payload);
    const first = await accepted({ event: 'ping', body });
    expect(first.result).toEqual({ status: 'pong', zen: payload.zen, hook_id: payload.hook_id });
    const again = await accepted({ event: 'ping', body });
    expect(again.result).toMatchObject({ status: 'pong' });
    expect((await eventRows()).map((e) => [e.event_type, e.processed])).toEqual([
      ['ping', true],
      ['ping', true],
    ]);
    expect(await count('webhook_payload_digests')).toBe(0);
  });

  it('records an installation and its repositories, answering what changed', async () => {
    const payload = exampleOf('installation', (p) => p.action === 'created');
    const answer = await accepted({ event: 'installation', body: JSON.stringify(payload) });
    expect(answer.result).toEqual({
      status: 'processed',
      action: 'created',
      installation_id: payload.installation.id,
      repositories_added: payload.repositories.length,
      repositories_removed: 0,
    });
    const [installation] = await db.rows<{
      id: string;
      account_login: string;
      last_action: string;
    }>('SELECT id, account_login, last_action FROM github_installations');
    expect(installation).toEqual({
      id: String(payload.installation.id),
      account_login: payload.installation.account.login,
      last_action: 'created',
    });
    const repos = await db.rows<{ repository: string }>(
      'SELECT repository FROM github_installation_repositories WHERE removed_at IS NULL ORDER BY repository',
    );
    expect(repos.map((r) => r.repository)).toEqual(
      payload.repositories.map((r: Payload) => r.full_name).sort(),
    );
    expect((await eventRows())[0]).toMatchObject({ event_type: 'installation', processed: true });
  });

  it('cancels the live tasks of an installation GitHub says was deleted, in the same transaction', async () => {
    const deleted = exampleOf('installation', (p) => p.action === 'deleted');
    const repository = deleted.repositories[0].full_name;
    const { taskIds } = await storeEvent(db.dataSource, {
      installationId: deleted.installation.id,
      repository,
    });
    await accepted({ event: 'installation', body: JSON.stringify(deleted) });
    const [task] = await db.rows<{ status: string }>(
      'SELECT status FROM workflow_tasks WHERE task_id = $1',
      [taskIds[0]],
    );
    expect(task.status).toBe('cancelled');
  });

  it('adds an agent_outcome task when a synchronize touches a pull request a pending agent run waits on', async () => {
    const payload = exampleOf('pull_request', (p) => p.action === 'synchronize');
    const { taskIds } = await storeEvent(db.dataSource, {
      repository: 'Codertocat/Hello-World',
      tasks: [{ taskType: TaskType.CodegenTrigger, prNumber: 2 }],
    });
    await new AgentRunOutcomeRepository(db.dataSource).createPending({
      taskId: taskIds[0],
      repository: 'Codertocat/Hello-World',
      prNumber: 2,
      triggerKind: 'check_failure',
      checkScope: 'check_run',
      failingChecks: ['build'],
      failingCheckCompletedAt: null,
      headSha: 'b'.repeat(40),
      codegenRunId: '1',
      codegenStatus: 'running',
      webUrl: null,
      followUpOf: null,
      followUpCount: 0,
    });
    const answer = await accepted({ event: 'pull_request', body: JSON.stringify(payload) });
    const created = (await taskRows()).filter((t) => t.task_id !== taskIds[0]);
    expect(created.map((t) => t.task_type).sort()).toEqual([
      'agent_outcome',
      'pull_request_analysis',
    ]);
    // The answer describes what the routing made of the delivery.
    expect(answer.result).toMatchObject({ task_type: 'pull_request_analysis' });
    const outcome = created.find((t) => t.task_type === 'agent_outcome')!;
    expect(outcome).toMatchObject({ pr_number: 2, commit_sha: payload.after });
    expect(await jobIds(QueueName.Analysis, 2)).toEqual(created.map((t) => t.task_id).sort());
  });

  it('adds no agent_outcome task for a synchronize no agent run waits on', async () => {
    const payload = exampleOf('pull_request', (p) => p.action === 'synchronize');
    await accepted({ event: 'pull_request', body: JSON.stringify(payload) });
    expect((await taskRows()).map((t) => t.task_type)).toEqual(['pull_request_analysis']);
  });
});

describe('WebhookIntakeService: replay guards', () => {
  it('refuses a redelivery of a stored delivery id with 409 and stores nothing more', async () => {
    const body = JSON.stringify(pullRequestOpened());
    const deliveryId = randomUUID();
    await accepted({ event: 'pull_request', body, deliveryId });
    const error = await refused({ event: 'pull_request', body, deliveryId });
    expect(error).toMatchObject({
      code: ErrorCode.Duplicate,
      message: `delivery ${deliveryId} was already received`,
    });
    expect(await count('webhook_events')).toBe(1);
    expect(await count('workflow_tasks')).toBe(1);
  });

  it('refuses a signed body replayed under a fresh delivery id with 409 duplicate payload, audited', async () => {
    const body = JSON.stringify(pullRequestOpened());
    await accepted({ event: 'pull_request', body });
    const error = await refused({ event: 'pull_request', body, client: '203.0.113.9' });
    expect(error).toMatchObject({ code: ErrorCode.Duplicate, message: 'duplicate payload' });
    expect(await count('webhook_events')).toBe(1);
    expect(await count('workflow_tasks')).toBe(1);
    expect(await auditRows()).toEqual([
      {
        type: 'webhook.duplicate_payload',
        outcome: 'refused',
        reason: 'duplicate_payload',
        client_address: '203.0.113.9',
        count: 1,
      },
    ]);
  });

  it('stores one event when the same delivery arrives twice at once', async () => {
    const body = JSON.stringify(pullRequestOpened());
    const deliveryId = randomUUID();
    const answers = await Promise.all([
      send({ event: 'pull_request', body, deliveryId }),
      send({ event: 'pull_request', body, deliveryId }),
    ]);
    expect(answers.filter((a) => a.ok)).toHaveLength(1);
    expect(answers.find((a) => !a.ok)).toMatchObject({ error: { code: ErrorCode.Duplicate } });
    expect(await count('webhook_events')).toBe(1);
    expect(await count('workflow_tasks')).toBe(1);
  });
});

describe('WebhookIntakeService: refusals', () => {
  it('refuses a wrong signature with 401, stores nothing and audits it', async () => {
    const error = await refused({
      event: 'pull_request',
      body: JSON.stringify(pullRequestOpened()),
      secret: 'not-the-secret',
      client: '198.51.100.7',
    });
    expect(error).toMatchObject({ code: ErrorCode.InvalidSignature, message: 'invalid signature' });
    await expectNothingStored();
    expect(await auditRows()).toEqual([
      expect.objectContaining({
        type: 'webhook.signature_failure',
        outcome: 'denied',
        client_address: '198.51.100.7',
      }),
    ]);
  });

  it('refuses a missing signature, and accepts any configured secret during a rotation', async () => {
    const body = JSON.stringify(pullRequestOpened());
    expect(await refused({ event: 'pull_request', body, secret: null })).toMatchObject({
      code: ErrorCode.InvalidSignature,
      message: 'missing X-Hub-Signature-256 header',
    });
    await expectNothingStored();
    await accepted({ event: 'pull_request', body, secret: OTHER_SECRET });
    expect(await count('webhook_events')).toBe(1);
  });

  it('refuses a body signed then altered', async () => {
    const body = JSON.stringify(pullRequestOpened());
    const req = request({ event: 'pull_request', body });
    const tampered = Readable.from([Buffer.from(body.replace('"opened"', '"closed"'))]);
    (tampered as unknown as IncomingMessage).headers = req.headers;
    await expect(
      intake.service.receive(tampered as unknown as IncomingMessage, () => '10.0.0.1'),
    ).rejects.toMatchObject({ code: ErrorCode.InvalidSignature });
    await expectNothingStored();
  });

  it('names every header problem in one 400', async () => {
    const error = await refused({
      event: 'pull_request',
      body: '{}',
      headers: {
        'x-github-delivery': undefined,
        'x-github-event': 'Pull Request',
        'content-type': 'text/plain',
      },
    });
    expect(error).toMatchObject({
      code: ErrorCode.InvalidInput,
      message: 'invalid webhook headers',
    });
    expect(error.details).toEqual([
      'X-GitHub-Delivery header is required',
      'X-GitHub-Event header is malformed',
      'Content-Type must be application/json or application/x-www-form-urlencoded',
    ]);
    const malformedId = await refused({
      event: 'push',
      body: '{}',
      headers: { 'x-github-delivery': 'id with spaces' },
    });
    expect(malformedId.details).toEqual(['X-GitHub-Delivery header is malformed']);
    await expectNothingStored();
  });

  it.each([
    ['not JSON', '{"action": ', 'payload is not valid JSON'],
    ['a JSON array', '[1, 2]', 'payload must be a JSON object'],
    ['a JSON string', '"hello"', 'payload must be a JSON object'],
    [
      'nested too deep',
      `{"a":${'['.repeat(600)}${']'.repeat(600)}}`,
      'payload nests deeper than 512 levels',
    ],
  ])('refuses a signed body that is %s with 400 and stores nothing', async (_, body, message) => {
    const error = await refused({ event: 'push', body });
    expect(error.code).toBe(ErrorCode.InvalidInput);
    expect(error.message).toContain(message);
    await expectNothingStored();
  });

  it('reads a form-encoded delivery from its payload field, and refuses one without it', async () => {
    const payload = pullRequestOpened();
    const form = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const answer = await accepted({ event: 'pull_request', body: form, headers });
    expect(answer.result).toMatchObject({ status: 'queued', task_type: 'pull_request_analysis' });
    expect((await eventRows())[0].payload).toEqual(payload);
    const error = await refused({ event: 'pull_request', body: 'other=1', headers });
    expect(error).toMatchObject({
      code: ErrorCode.InvalidInput,
      message: 'form-encoded delivery has no payload field',
    });
  });

  it('refuses a declared size over the limit with 413 before reading, and a body that grows past it', async () => {
    const { service } = buildIntake({ WEBHOOK_MAX_PAYLOAD_SIZE: '2048' });
    const declared = await refused(
      { event: 'push', body: '{}', headers: { 'content-length': String(10 * 1024 * 1024) } },
      service,
    );
    expect(declared).toMatchObject({
      code: ErrorCode.PayloadTooLarge,
      message: 'payload exceeds the limit of 2048 bytes',
    });
    const streamed = await refused(
      {
        event: 'push',
        body: JSON.stringify({ zen: 'x'.repeat(4096) }),
        headers: { 'content-length': undefined },
      },
      service,
    );
    expect(streamed.code).toBe(ErrorCode.PayloadTooLarge);
    await expectNothingStored();
    // Just under the limit is fine.
    const ping = JSON.stringify({ zen: 'y'.repeat(1900), hook_id: 1 });
    expect((await accepted({ event: 'ping', body: ping }, service)).result).toMatchObject({
      status: 'pong',
    });
  });

  it('turns unverified failures past the client budget into 429, audited; other clients and verified deliveries are unaffected', async () => {
    const { service, audit } = buildIntake({
      WEBHOOK_RATE_LIMIT_PER_SECOND: '1',
      WEBHOOK_RATE_LIMIT_BURST: '2',
    });
    const bad = { event: 'push', body: '{}', secret: 'wrong', client: '192.0.2.1' };
    expect((await refused(bad, service)).code).toBe(ErrorCode.InvalidSignature);
    expect((await refused(bad, service)).code).toBe(ErrorCode.InvalidSignature);
    const limited = await refused(bad, service);
    expect(limited).toMatchObject({
      code: ErrorCode.RateLimited,
      message: 'too many unverified webhook requests from this address',
    });
    expect(limited.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Bad headers count too.
    expect((await refused({ ...bad, headers: { 'x-github-event': 'BAD' } }, service)).code).toBe(
      ErrorCode.RateLimited,
    );
    // Another client has its own budget; a verified delivery is never limited.
    expect((await refused({ ...bad, client: '192.0.2.2' }, service)).code).toBe(
      ErrorCode.InvalidSignature,
    );
    await accepted(
      { event: 'pull_request', body: JSON.stringify(pullRequestOpened()), client: '192.0.2.1' },
      service,
    );
    await audit.flush();
    const rows = await db.rows<{ type: string; client_address: string; count: number }>(
      'SELECT type, client_address, reason, count FROM audit_log ORDER BY type, client_address, reason',
    );
    expect(rows).toEqual([
      {
        type: 'webhook.signature_failure',
        client_address: '192.0.2.1',
        reason: 'mismatch',
        count: 3,
      },
      {
        type: 'webhook.signature_failure',
        client_address: '192.0.2.2',
        reason: 'mismatch',
        count: 1,
      },
      { type: 'webhook.throttled', client_address: '192.0.2.1', reason: 'invalid_input', count: 1 },
      {
        type: 'webhook.throttled',
        client_address: '192.0.2.1',
        reason: 'invalid_signature',
        count: 1,
      },
    ]);
  });
});

describe('WebhookIntakeService: storing', () => {
  it('stores a payload holding NUL or an unpaired surrogate with U+FFFD instead of losing it', async () => {
    const payload = pullRequestOpened();
    payload.pull_request.title = 'nul \u0000 and \ud800 here';
    const answer = await accepted({ event: 'pull_request', body: JSON.stringify(payload) });
    expect(answer.result).toMatchObject({ status: 'queued' });
    const [event] = await eventRows();
    expect(event.payload.pull_request.title).toBe('nul \ufffd and \ufffd here');
    expect(await count('workflow_tasks')).toBe(1);
  });

  it('stores the verified body as sent, multi-byte text and escapes included', async () => {
    // The body goes to PostgreSQL as its own bytes (no JS string held while the statement runs).
    const payload = pullRequestOpened();
    payload.pull_request.title = 'naïve 修正 🚀 "quoted" \\ \t tab';
    await accepted({ event: 'pull_request', body: JSON.stringify(payload) });
    const [event] = await eventRows();
    expect(event.payload).toEqual(payload);
  });

  it('stores a body with bytes that are not UTF-8 as decoding reads them (U+FFFD), not refused', async () => {
    // Valid JSON once decoded; PostgreSQL would refuse the raw bytes, so the decoded text is sent.
    const payload = pullRequestOpened();
    payload.pull_request.title = 'bad X byte';
    const text = Buffer.from(JSON.stringify(payload));
    const at = text.indexOf('bad X byte') + 'bad '.length;
    const body = Buffer.concat([text.subarray(0, at), Buffer.from([0xff]), text.subarray(at + 1)]);
    const answer = await accepted({ event: 'pull_request', body });
    expect(answer.result).toMatchObject({ status: 'queued' });
    const [event] = await eventRows();
    expect(event.payload.pull_request.title).toBe('bad \ufffd byte');
    expect(await count('workflow_tasks')).toBe(1);
  });

  it('stores a completed check whose conclusion is NUL (quoted in the outcome facts) with U+FFFD', async () => {
    // Found by the hostile intake suite: the retry cleaned the payload but not the facts and task
    // inputs that quote it, so the second write failed too and a verified delivery got a 400.
    const payload = failedCheckRun();
    payload.check_run.conclusion = '\u0000';
    payload.check_run.name = 'lint \u0000';
    const answer = await accepted({ event: 'check_run', body: JSON.stringify(payload) });
    expect(answer.status).toBe('accepted');
    const [event] = await eventRows();
    expect(event.payload.check_run.conclusion).toBe('\ufffd');
    // A failed check with a NUL in its name still gets its analysis, its input cleaned alike.
    payload.check_run.conclusion = 'failure';
    payload.check_run.id += 1;
    const failing = await accepted({ event: 'check_run', body: JSON.stringify(payload) });
    expect(failing.result).toMatchObject({ tasks_created: 1 });
    const [task] = await taskRows();
    expect(JSON.stringify(task.input_data)).not.toContain('\\u0000');
  });

  it('refuses a number PostgreSQL cannot store with 400, leaving no partial write', async () => {
    const body = JSON.stringify(pullRequestOpened()).replace(
      '"number":2',
      '"number":2,"huge":1e200000',
    );
    expect(body).toContain('1e200000');
    const error = await refused({ event: 'pull_request', body });
    expect(error).toMatchObject({
      code: ErrorCode.InvalidInput,
      message: 'payload contains values PostgreSQL cannot store',
    });
    await expectNothingStored();
  });

  /** Runs `during` while a second session holds webhook_deliveries locked, so storing waits. */
  async function whileLocked<T>(during: () => Promise<T>): Promise<T> {
    const blocker = new Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE webhook_deliveries IN ACCESS EXCLUSIVE MODE');
      return await during();
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
  }

  /** The refusal of a delivery sent while the lock is held, and how long it took to come. */
  async function refusedWhileLocked(
    delivery: Delivery,
    service: WebhookIntakeService,
  ): Promise<{ error: DomainError; ms: number }> {
    return whileLocked(async () => {
      const started = Date.now();
      return { error: await refused(delivery, service), ms: Date.now() - started };
    });
  }

  /** statement_timeout of each of the shared pool's 4 connections (4 statements at once). */
  async function sharedPoolTimeouts(): Promise<string[]> {
    const rows = await Promise.all(
      [1, 2, 3, 4].map(() =>
        db.rows<{ timeout: string }>(
          `SELECT current_setting('statement_timeout') AS timeout FROM pg_sleep(0.05)`,
        ),
      ),
    );
    return rows.map(([row]) => row.timeout);
  }

  it('answers 503 "not stored" when PostgreSQL cancels the store at INTAKE_STORE_TIMEOUT_MS; nothing is stored and the redelivery is accepted on the same connection', async () => {
    const { service } = buildIntake({ INTAKE_STORE_TIMEOUT_MS: '300' });
    /** The sessions that ran the intake statement last (its pool's connections). */
    const intakeSessions = async (): Promise<number[]> =>
      (
        await db.rows<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE 'WITH digest AS%' ORDER BY pid`,
        )
      ).map((r) => r.pid);
    // Twice: first on a fresh connection (cancelled while preparing the statement), then on one
    // where the statement is prepared (cancelled while executing it).
    for (const round of [1, 2]) {
      const delivery = {
        event: 'pull_request',
        body: JSON.stringify({ ...pullRequestOpened(), round }),
        deliveryId: randomUUID(),
      };
      const { error, ms } = await refusedWhileLocked(delivery, service);
      expect(error).toMatchObject({
        code: ErrorCode.Unavailable,
        message: 'storage did not answer in time; the delivery was not stored',
        retryAfterSeconds: 5,
      });
      // PostgreSQL's cancellation, not the backstop (300 + 1000 ms) nor the lock's release.
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(1200);
      // The lock is gone: a statement still waiting would now commit. None does.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await expectNothingStored();
      const cancelled = await intakeSessions();
      expect(cancelled).toHaveLength(1);
      // The redelivery GitHub is asked for is a new delivery, not a duplicate, stored by the
      // connection whose statement was cancelled: the pool kept it, usable.
      const again = await accepted(delivery, service);
      expect(again).toMatchObject({
        status: 'accepted',
        delivery_id: delivery.deliveryId,
        result: { status: 'queued', task_type: 'pull_request_analysis' },
      });
      expect(await count('webhook_events')).toBe(1);
      expect(await count('workflow_tasks')).toBe(1);
      expect(await intakeSessions()).toEqual(cancelled);
      await db.dataSource.query('DELETE FROM workflow_tasks; DELETE FROM webhook_events;');
      await db.dataSource.query(
        'DELETE FROM webhook_deliveries; DELETE FROM webhook_payload_digests;',
      );
    }
    // The limit is the intake's alone: the shared pool's sessions (operator API, relay) have none.
    expect(await sharedPoolTimeouts()).toEqual(['0', '0', '0', '0']);
  });

  it('answers 503 "not stored" when PostgreSQL cancels an installation event\'s transaction, leaving the shared pool without the limit', async () => {
    const { service } = buildIntake({ INTAKE_STORE_TIMEOUT_MS: '300' });
    const payload = exampleOf('installation', (p) => p.action === 'created');
    const delivery = {
      event: 'installation',
      body: JSON.stringify(payload),
      deliveryId: randomUUID(),
    };
    const error = await whileLocked(() => refused(delivery, service));
    expect(error).toMatchObject({
      code: ErrorCode.Unavailable,
      message: 'storage did not answer in time; the delivery was not stored',
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expectNothingStored();
    expect(await count('github_installations')).toBe(0);
    // The redelivery is stored; the limit ended with each transaction, cancelled or committed:
    // no connection of the shared pool keeps it.
    await accepted(delivery, service);
    expect(await count('github_installations')).toBe(1);
    expect(await sharedPoolTimeouts()).toEqual(['0', '0', '0', '0']);
  });

  it('drops a connection whose backend was terminated mid-statement, and stores the next delivery on a new one', async () => {
    const { service } = buildIntake({ INTAKE_STORE_TIMEOUT_MS: '5000' });
    const store = stores[stores.length - 1];
    const delivery = {
      event: 'pull_request',
      body: JSON.stringify(pullRequestOpened()),
      deliveryId: randomUUID(),
    };
    const waiting = (): Promise<Array<{ pid: number }>> =>
      db.rows<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND query LIKE 'WITH digest AS%'`,
      );
    const error = await whileLocked(async () => {
      const answer = refused(delivery, service);
      let pids: Array<{ pid: number }> = [];
      for (let i = 0; i < 100 && pids.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        pids = await waiting();
      }
      expect(pids).toHaveLength(1);
      await db.rows('SELECT pg_terminate_backend($1)', [pids[0].pid]);
      const refusal = await answer;
      // Dropped with the answer, not kept for the next delivery until the close is seen.
      expect(store.poolCounts()).toMatchObject({ totalCount: 0 });
      return { answer: refusal, pid: pids[0].pid };
    });
    expect(error.answer).toMatchObject({
      code: ErrorCode.Unavailable,
      message: 'storage unavailable; the delivery was not stored',
    });
    await expectNothingStored();
    await accepted(delivery, service);
    const after = await waiting();
    expect(after).toHaveLength(1);
    expect(after[0].pid).not.toBe(error.pid);
  });

  it("counts the intake's own connections in the process's pool gauges", async () => {
    const { service } = buildIntake();
    const store = stores[stores.length - 1];
    expect(store.poolCounts()).toBeNull(); // opened with the first delivery
    await accepted({ event: 'pull_request', body: JSON.stringify(pullRequestOpened()) }, service);
    expect(store.poolCounts()).toEqual({ totalCount: 1, idleCount: 1, waitingCount: 0 });
    const registry = new Registry();
    // Only the pool gauges are read: no queue or heartbeat is consulted for them.
    new SystemStateCollector(registry, db.dataSource, new Map(), {} as WorkerHeartbeats, {
      morePools: () => [store.poolCounts()],
    });
    const gauge = async (name: string): Promise<number> =>
      (await registry.getSingleMetric(name)!.get()).values[0].value;
    const shared = pgPoolOf(db.dataSource);
    expect(await gauge('database_connections_idle')).toBe(shared.idleCount + 1);
    expect(await gauge('database_connections_active')).toBe(shared.totalCount - shared.idleCount);
  });

  it('answers 503 "may not be stored" when storage does not answer by the backstop, never a false acknowledgement', async () => {
    // No limit on the PostgreSQL side here, standing for a statement that never answers (a lost
    // connection): the service's own timer answers, 1 s after INTAKE_STORE_TIMEOUT_MS.
    const { service } = buildIntake({ INTAKE_STORE_TIMEOUT_MS: '200' }, undefined, {});
    const delivery = {
      event: 'pull_request',
      body: JSON.stringify(pullRequestOpened()),
      deliveryId: randomUUID(),
    };
    const { error, ms } = await refusedWhileLocked(delivery, service);
    // It does not claim the delivery was not stored: the statement is still waiting.
    expect(error).toMatchObject({
      code: ErrorCode.Unavailable,
      message: 'storage did not answer in time; the delivery may not be stored, redeliver it',
      retryAfterSeconds: 5,
    });
    expect(ms).toBeGreaterThanOrEqual(1150);
    // Once PostgreSQL gets to it the waiting statement commits, which is why the answer says
    // "may"; the redelivery it asks for is then refused as already received, not stored twice.
    for (let i = 0; i < 100 && (await count('webhook_events')) === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await count('webhook_events')).toBe(1);
    const again = await refused(delivery, service);
    expect(again).toMatchObject({ code: ErrorCode.Duplicate });
    expect(await count('webhook_events')).toBe(1);
  });
});
