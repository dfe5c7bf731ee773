import { isUtf8 } from 'node:buffer';
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
import {
  agentOutcomeFacts,
  extractEventFacts,
  outcomeFactsToInput,
  RouteOutcome,
  routeWithRules,
  TaskType,
} from '@app/domain';
import { AuditTrail, AuditType, DomainError, ErrorCode, LOGGER } from '@app/platform';
import {
  IntakeStatementTimeoutError,
  IntakeStore,
  InvalidStoredJsonError,
  NewEvent,
  NewTask,
  PendingOutcomeTask,
  UnstorableJsonError,
} from '@app/persistence';
import type { InsertResult } from '@app/persistence';
import { newTaskJobs, TaskEnqueuer } from '@app/runtime';
import { verifyGithubSignature } from '@app/github';
import { MAX_JSON_DEPTH, nestsTooDeep } from '../common/json-depth';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import { IntakeTelemetry } from '../metrics/intake-telemetry';
import { clientKey } from '../throttle/client-key';
import { FailureLimiter } from './failure-limiter';
import { InflightBudget } from './inflight-budget';
import { readRawBody } from './raw-body';
import { WebhookAcceptedDto } from './dto/webhook-accepted.dto';

const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,64}$/;
// Digits too: GitHub sends projects_v2 and projects_v2_item.
const EVENT_NAME = /^[a-z0-9_]{1,64}$/;
/** GitHub headers worth keeping; never credentials, cookies or the signature. */
const STORED_HEADERS = [
  'x-github-delivery',
  'x-github-event',
  'x-github-hook-id',
  'x-github-hook-installation-target-id',
  'x-github-hook-installation-target-type',
  'x-github-enterprise-host',
  'x-github-enterprise-version',
  'user-agent',
  'content-type',
  'content-length',
];

type BodyFormat = 'json' | 'form';

interface CheckedHeaders {
  deliveryId: string;
  eventType: string;
  format: BodyFormat;
}

const CHECK_TASK_TYPES = new Set<TaskType>([
  TaskType.CheckFailureAnalysis,
  TaskType.CheckSuiteFailureAnalysis,
]);

/**
 * The hot path: verify, store event and tasks in one statement, answer, then enqueue. Nothing is
 * acknowledged that is not committed; nothing unverified is stored.
 */
/**
 * No answer from storage by INTAKE_STORE_TIMEOUT_MS + STORE_DEADLINE_GRACE_MS: PostgreSQL itself
 * cancels the statement at INTAKE_STORE_TIMEOUT_MS (a definite "not stored"), so this backstop
 * covers a lost connection or a wait for a pooled one, and the statement may still commit.
 */
const STORE_DEADLINE = new Error('storage deadline passed');
const STORE_DEADLINE_GRACE_MS = 1000;

@Injectable()
export class WebhookIntakeService {
  private readonly limiter: FailureLimiter;
  /** Bytes of unverified bodies being read, capped globally and per client key. */
  readonly inflight: InflightBudget;

  constructor(
    @Inject(ORCHESTRATOR_CONFIG) private readonly config: OrchestratorConfig,
    private readonly intakeStore: IntakeStore,
    private readonly enqueuer: TaskEnqueuer,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly telemetry: IntakeTelemetry,
    private readonly audit: AuditTrail,
  ) {
    this.limiter = new FailureLimiter(
      config.webhookFailureRatePerSecond,
      config.webhookFailureBurst,
    );
    this.inflight = new InflightBudget(
      config.webhookInflightMaxBytes,
      config.webhookInflightMaxBytesPerClient,
    );
    telemetry.watchInflight(() => this.inflight.bytes);
  }

  /**
   * `clientAddress` is the caller's address as the limiters see it (TRUST_PROXY applied): the
   * key of its in-flight bytes and of its failure budget.
   */
  async receive(req: IncomingMessage, clientAddress: () => string): Promise<WebhookAcceptedDto> {
    const observed = this.telemetry.begin(req);
    try {
      return observed.accepted(await observed.run(() => this.receiveVerified(req, clientAddress)));
    } catch (error) {
      observed.rejected(error);
      throw this.limitFailures(req, clientAddress, error);
    }
  }

  private async receiveVerified(
    req: IncomingMessage,
    clientAddress: () => string,
  ): Promise<WebhookAcceptedDto> {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.config.webhookMaxPayloadBytes) {
      throw new DomainError(
        ErrorCode.PayloadTooLarge,
        `payload exceeds the limit of ${this.config.webhookMaxPayloadBytes} bytes`,
      );
    }
    const headers = this.checkHeaders(req);
    const { deliveryId, eventType } = headers;
    // Only the records to store are held while the statement runs, never the body or its parsed
    // form (`prepare` is synchronous): a suspended async frame keeps every local it has, and the
    // parsed payloads of the deliveries in flight were most of what each young-generation
    // collection had to copy, a pause every in-flight delivery waited through (docs/performance.md).
    const { event, routed, judging, outcome } = this.prepare(
      req,
      headers,
      await this.readVerified(req, clientAddress, headers),
    );
    const stored = await this.store(event, routed, judging, outcome);
    if (stored.kind === 'duplicate_delivery') {
      throw new DomainError(ErrorCode.Duplicate, `delivery ${deliveryId} was already received`);
    }
    if (stored.kind === 'duplicate_payload') {
      // A signed body replayed under a fresh delivery id: aggregated like the other failures.
      this.audit.record({
        type: AuditType.WebhookDuplicatePayload,
        outcome: 'refused',
        reason: 'duplicate_payload',
        clientAddress: clientAddress(),
        correlationId: req.correlationId ?? null,
        details: { delivery_id: deliveryId, event: eventType },
      });
      throw new DomainError(ErrorCode.Duplicate, 'duplicate payload');
    }
    const tasks = stored.judged && judging ? [...routed, judging.task] : routed;
    if (tasks.length > 0) {
      this.telemetry.tasksCreated(tasks);
      void this.enqueuer.enqueue(newTaskJobs(tasks));
    }
    return {
      status: 'accepted',
      delivery_id: deliveryId,
      event_type: eventType,
      // The answer describes what the routing made of the delivery, as documented.
      result: describeOutcome(outcome, routed),
    };
  }

  /** The body, read within the in-flight caps and verified against the webhook secrets. */
  private async readVerified(
    req: IncomingMessage,
    clientAddress: () => string,
    { deliveryId, eventType }: CheckedHeaders,
  ): Promise<Buffer> {
    // Held until the signature is checked: after that the bytes are a verified delivery's.
    const hold = this.inflight.open(clientKey(clientAddress()));
    let raw: Buffer;
    let verdict: ReturnType<typeof verifyGithubSignature>;
    try {
      raw = await readRawBody(req, this.config.webhookMaxPayloadBytes, hold);
      verdict = verifyGithubSignature(
        raw,
        req.headers['x-hub-signature-256'],
        this.config.webhookSecrets,
      );
    } finally {
      hold.release();
    }
    if (!verdict.ok) {
      // Failure path only: an in-memory aggregate, no I/O (see AuditTrail).
      this.audit.record({
        type: AuditType.WebhookSignatureFailure,
        outcome: 'denied',
        reason: verdict.reason,
        clientAddress: clientAddress(),
        correlationId: req.correlationId ?? null,
        details: { delivery_id: deliveryId, event: eventType },
      });
      throw new DomainError(
        ErrorCode.InvalidSignature,
        verdict.reason === 'missing' ? 'missing X-Hub-Signature-256 header' : 'invalid signature',
      );
    }
    return raw;
  }

  /** What a verified body becomes: the event, the tasks routing made of it, a judging task. */
  private prepare(
    req: IncomingMessage,
    { deliveryId, eventType, format }: CheckedHeaders,
    raw: Buffer,
  ): {
    event: NewEvent;
    routed: NewTask[];
    judging: PendingOutcomeTask | null;
    outcome: RouteOutcome;
  } {
    const { payload, json } = parseBody(raw, format);
    const { outcome } = routeWithRules(eventType, payload, this.config.rules);
    const facts = extractEventFacts(payload);
    const routed: NewTask[] =
      outcome.kind === 'tasks'
        ? outcome.tasks.map((draft) => ({
            ...draft,
            taskId: randomUUID(),
            maxRetries: this.config.task.maxRetries,
          }))
        : [];
    // Stored only if a pending agent-run outcome waits on this delivery: looked up in the store
    // statement itself, so a delivery no run touched costs no extra query.
    const judging = this.outcomeTask(eventType, payload);
    const event: NewEvent = {
      deliveryId,
      eventType,
      action: facts.action?.slice(0, 64) ?? null,
      repository: facts.repository,
      installationId: facts.installationId,
      senderLogin: facts.senderLogin,
      // The verified bytes themselves when they are the JSON text (valid UTF-8; decoding replaced
      // any invalid sequence, so then the decoded text): the decoded string is garbage as soon
      // as it is parsed, instead of being held by the statement's parameters while it runs.
      payloadJson: format === 'json' && isUtf8(raw) ? raw : json,
      headers: pickHeaders(req),
      // A judging task, if stored, makes it unprocessed (decided in the statement).
      processedAtIntake: routed.length === 0,
      receivedVia: 'webhook',
      // GitHub's pings for one hook can be byte-identical; one that creates no task is exempt.
      // (A ping never has a judging task.)
      payloadGuard:
        eventType === 'ping' && routed.length === 0
          ? null
          : {
              sha256: createHash('sha256').update(raw).digest(),
              windowHours: this.config.webhookPayloadReplayWindowHours,
            },
    };
    return { event, routed, judging, outcome };
  }

  /**
   * A task judging agent-run outcomes, for a completed check or a synchronize: stored only when
   * a pending outcome of the repository is about its pull requests or commit, which the store
   * statement looks up. Deliveries about commits no run touched create nothing.
   */
  private outcomeTask(eventType: string, payload: unknown): PendingOutcomeTask | null {
    const facts = agentOutcomeFacts(eventType, payload);
    if (!facts) return null;
    const { event } = facts;
    return {
      repository: facts.repository,
      prNumbers: facts.prNumbers,
      sha: facts.sha,
      // A completed check of a pull request also finds a working run that failed that check.
      check:
        event.kind === 'check_completed' && facts.prNumbers.length > 0
          ? { scope: event.scope, name: event.name }
          : null,
      task: {
        taskType: TaskType.AgentOutcome,
        taskId: randomUUID(),
        maxRetries: this.config.task.maxRetries,
        repository: facts.repository,
        prNumber: facts.prNumbers[0] ?? null,
        branch: null,
        commitSha: facts.sha,
        inputData: outcomeFactsToInput(facts),
      },
    };
  }

  private checkHeaders(req: IncomingMessage): CheckedHeaders {
    const problems: string[] = [];
    const deliveryId = single(req.headers['x-github-delivery']);
    const eventType = single(req.headers['x-github-event']);
    if (!deliveryId) problems.push('X-GitHub-Delivery header is required');
    else if (!DELIVERY_ID.test(deliveryId)) problems.push('X-GitHub-Delivery header is malformed');
    if (!eventType) problems.push('X-GitHub-Event header is required');
    else if (!EVENT_NAME.test(eventType)) problems.push('X-GitHub-Event header is malformed');
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    let format: BodyFormat = 'json';
    if (mediaType === 'application/x-www-form-urlencoded') format = 'form';
    else if (mediaType !== 'application/json') {
      problems.push('Content-Type must be application/json or application/x-www-form-urlencoded');
    }
    if (problems.length > 0)
      throw new DomainError(ErrorCode.InvalidInput, 'invalid webhook headers', problems);
    return { deliveryId: deliveryId as string, eventType: eventType as string, format };
  }

  private async store(
    event: NewEvent,
    tasks: NewTask[],
    judging: PendingOutcomeTask | null,
    outcome: RouteOutcome,
  ): Promise<InsertResult> {
    const writeOnce = (
      e: NewEvent,
      t: NewTask[],
      j: PendingOutcomeTask | null,
    ): Promise<InsertResult> =>
      this.intakeStore.store(e, t, outcome.kind === 'installation' ? outcome.change : null, j);
    const write = async (): Promise<InsertResult> => {
      try {
        return await writeOnce(event, tasks, judging);
      } catch (error) {
        if (!(error instanceof InvalidStoredJsonError)) throw error;
        // jsonb refuses \u0000; a verified delivery is stored with it replaced rather than lost.
        this.logger.warn(
          'payload held text jsonb cannot store (NUL or unpaired surrogate); storing it with U+FFFD instead',
          {
            delivery_id: event.deliveryId,
          },
        );
        // The tasks' inputs and the outcome facts quote payload fields (a check's conclusion, a
        // title) and go to jsonb too: cleaned the same way, or the retry fails as the first did.
        return writeOnce(
          {
            ...event,
            payloadJson: JSON.stringify(JSON.parse(event.payloadJson.toString()), replaceNul),
          },
          withoutUnstorableText(tasks),
          withoutUnstorableText(judging),
        );
      }
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(STORE_DEADLINE),
          this.config.intakeStoreTimeoutMs + STORE_DEADLINE_GRACE_MS,
        );
      });
      return await Promise.race([write(), deadline]);
    } catch (error) {
      if (error instanceof InvalidStoredJsonError) {
        throw new DomainError(
          ErrorCode.InvalidInput,
          'payload contains text PostgreSQL cannot store',
          ['JSON strings must not contain \\u0000 or unpaired surrogates'],
        );
      }
      if (error instanceof UnstorableJsonError) {
        throw new DomainError(
          ErrorCode.InvalidInput,
          'payload contains values PostgreSQL cannot store',
          ['JSON numbers must fit PostgreSQL numeric (about 1e-16383 to 1e131071)'],
        );
      }
      this.logger.error('could not store webhook delivery', {
        delivery_id: event.deliveryId,
        event_type: event.eventType,
        error: error instanceof Error ? error.message : String(error),
      });
      if (error instanceof IntakeStatementTimeoutError) {
        // PostgreSQL cancelled the statement before its commit: nothing of it is stored.
        throw new DomainError(
          ErrorCode.Unavailable,
          'storage did not answer in time; the delivery was not stored',
          [],
          5,
        );
      }
      if (error === STORE_DEADLINE) {
        // The statement may still commit once PostgreSQL gets to it: say so rather than claim it
        // was not stored. Redelivering is safe either way (a stored one is answered 409).
        throw new DomainError(
          ErrorCode.Unavailable,
          'storage did not answer in time; the delivery may not be stored, redeliver it',
          [],
          5,
        );
      }
      throw new DomainError(
        ErrorCode.Unavailable,
        'storage unavailable; the delivery was not stored',
        [],
        5,
      );
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Unverified requests count against the client's failure budget; over it they get 429. */
  private limitFailures(
    req: IncomingMessage,
    clientAddress: () => string,
    error: unknown,
  ): unknown {
    if (!(error instanceof DomainError)) return error;
    const counted = [
      ErrorCode.InvalidSignature,
      ErrorCode.InvalidInput,
      ErrorCode.PayloadTooLarge,
    ].includes(error.code);
    if (!counted) return error;
    return this.countFailure(req, clientAddress, error);
  }

  /**
   * Counts one failed delivery attempt that never reached verification (a case variant of the
   * webhook URL, answered 404) against the client's failure budget: `error` when within it,
   * otherwise the 429 to answer instead.
   */
  countFailure(req: IncomingMessage, clientAddress: () => string, error: DomainError): DomainError {
    const client = clientAddress();
    // IPv6 by /64: one host holds a whole /64 and could otherwise spray past the limit.
    const wait = this.limiter.consume(clientKey(client));
    if (wait === 0) return error;
    this.audit.record({
      type: AuditType.WebhookThrottled,
      outcome: 'throttled',
      reason: error.code,
      clientAddress: client,
      correlationId: req.correlationId ?? null,
    });
    return new DomainError(
      ErrorCode.RateLimited,
      'too many unverified webhook requests from this address',
      [],
      wait,
    );
  }
}

// eslint-disable-next-line no-control-regex -- NUL is exactly what jsonb refuses
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A copy of plain JSON-shaped data with every string cleaned by `replaceNul`. */
function withoutUnstorableText<T>(value: T): T {
  return value === null ? value : (JSON.parse(JSON.stringify(value, replaceNul)) as T);
}

/** Replaces NUL and unpaired surrogates, which jsonb refuses, with U+FFFD. */
function replaceNul(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? value.replace(UNSTORABLE, '\ufffd') : value;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

function pickHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') out[name] = value.slice(0, 512);
  }
  return out;
}

function parseBody(
  raw: Buffer,
  format: BodyFormat,
): { payload: Record<string, unknown>; json: string } {
  let json = raw.toString('utf8');
  if (format === 'form') {
    const field = new URLSearchParams(json).get('payload');
    if (field === null) {
      throw new DomainError(ErrorCode.InvalidInput, 'form-encoded delivery has no payload field');
    }
    json = field;
  }
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch {
    throw new DomainError(ErrorCode.InvalidInput, 'payload is not valid JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new DomainError(ErrorCode.InvalidInput, 'payload must be a JSON object');
  }
  if (opensMoreThan(json, MAX_JSON_DEPTH) && nestsTooDeep(json)) {
    throw new DomainError(
      ErrorCode.InvalidInput,
      `payload nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  return { payload: payload as Record<string, unknown>, json };
}

/**
 * True when `json` holds more than `limit` `{` and `[` in all (strings included). Fewer cannot
 * nest deeper than `limit`, so the character-by-character depth scan (~60 µs for a 24 KB pull
 * request, which has ~140 brackets) only runs for texts that could fail it; indexOf is native.
 */
function opensMoreThan(json: string, limit: number): boolean {
  let count = 0;
  for (const bracket of ['{', '[']) {
    for (let at = json.indexOf(bracket); at !== -1; at = json.indexOf(bracket, at + 1)) {
      if (++count > limit) return true;
    }
  }
  return false;
}

function describeOutcome(outcome: RouteOutcome, tasks: NewTask[]): Record<string, unknown> {
  switch (outcome.kind) {
    case 'tasks':
      // Check events can fan out to several PRs, so they always report a count.
      if (tasks.length === 1 && !CHECK_TASK_TYPES.has(tasks[0].taskType)) {
        return {
          status: 'queued',
          task_id: tasks[0].taskId,
          task_type: tasks[0].taskType,
          action: outcome.action,
        };
      }
      return {
        status: 'queued',
        tasks_created: tasks.length,
        task_ids: tasks.map((t) => t.taskId),
        action: outcome.action,
      };
    case 'ignored':
      return { status: 'ignored', reason: outcome.reason, action: outcome.action };
    case 'pong':
      return { status: 'pong', zen: outcome.zen, hook_id: outcome.hookId };
    case 'installation':
      return {
        status: 'processed',
        action: outcome.action,
        installation_id: outcome.change.installationId,
        repositories_added: outcome.change.repositoriesAdded.length,
        repositories_removed: outcome.change.repositoriesRemoved.length,
      };
  }
}
