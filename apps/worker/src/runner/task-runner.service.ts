import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Logger } from 'winston';
import { ExternalServiceError, isTransientError, LOGGER } from '@app/platform';
import {
  AgentRunRepository,
  ClaimedTask,
  CodegenCreateLogRepository,
  TaskLifecycleRepository,
  WebhookEventEntity,
} from '@app/persistence';
import { QueueName, TaskEnqueuer, TaskTelemetry } from '@app/runtime';
import { GithubRateLimitError } from '@app/github';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { HandlerRegistry } from '../handlers/handler-registry';
import { HoldAttemptError } from '../handlers/task-handler';
import { AgentRunPoller } from './agent-run-poller.service';
import { GithubBudgetGate } from './github-budget-gate';

/** Thrown to Bull so it schedules the next attempt with backoff. */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

/**
 * Thrown to Bull for a task that waits without spending an attempt (a GitHub rate limit or low
 * budget): its retry_count is untouched; only the Bull job waits `retryAfterMs`, and Bull is
 * kept from counting the wait against the job's attempts.
 */
export class TaskHoldError extends RetryLaterError {
  constructor(message: string, waitMs: number) {
    super(message, waitMs);
    this.name = 'TaskHoldError';
  }
}

/**
 * Thrown to Bull for a task held back because its GitHub budget is low or its identity waits out
 * a rate limit: it was not claimed, so no execution row is written.
 */
export class BudgetHoldError extends TaskHoldError {
  constructor(waitMs: number) {
    super('GitHub rate-limit budget low or limited; waiting for the reset', waitMs);
    this.name = 'BudgetHoldError';
  }
}

/**
 * Codegen's agent-run creations per minute are spent across the workers: this attempt waits
 * without spending an attempt (a hold) until the oldest creation of the last minute leaves it.
 */
export class CodegenCreateLimitError extends HoldAttemptError {
  constructor(
    waitMs: number,
    readonly inWindow: number,
  ) {
    super(
      `Codegen's limit of agent-run creations per minute is spent (${inWindow} in the last minute across the workers); waiting ${Math.ceil(waitMs / 1000)} s`,
      waitMs,
    );
    this.name = 'CodegenCreateLimitError';
  }
}

/**
 * Creations are counted over a minute plus this margin: the count is taken just before the
 * request leaves, so a request that takes a moment to reach Codegen still falls in Codegen's own
 * minute.
 */
export const CODEGEN_CREATE_WINDOW_MS = 62_000;

export type RunOutcome =
  'completed' | 'failed' | 'retrying' | 'skipped' | 'lost' | 'cancelled' | 'waiting';

/**
 * Runs one attempt of a task: claim → execution row → handler under a deadline → outcome.
 * Transient errors go back to Bull with backoff until the task's retries are spent; permanent
 * ones fail the task at once.
 */
@Injectable()
export class TaskRunner {
  constructor(
    private readonly tasks: TaskLifecycleRepository,
    private readonly agentRuns: AgentRunRepository,
    private readonly enqueuer: TaskEnqueuer,
    private readonly handlers: HandlerRegistry,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly telemetry: TaskTelemetry,
    private readonly poller: AgentRunPoller,
    private readonly budget: GithubBudgetGate,
    private readonly creates: CodegenCreateLogRepository,
  ) {}

  async run(taskId: string, queueName: QueueName): Promise<RunOutcome> {
    // Before the claim, so a held task spends none of its attempts.
    const hold = await this.budget.holdFor(taskId);
    if (hold) {
      this.logger.info('GitHub budget low or rate limited; task held until the wait is over', {
        task_id: taskId,
        installation_id: hold.installationId,
        wait_ms: hold.waitMs,
      });
      throw new BudgetHoldError(hold.waitMs);
    }
    // The attempt is aborted at its deadline; the margin covers writing its outcome.
    const leaseMs = this.config.task.timeoutMs + 5_000;
    const claim = await this.tasks.claimForRun(taskId, this.config.workerId, queueName, leaseMs);
    if (!claim) {
      this.logger.debug('task is terminal or unknown; nothing to do', { task_id: taskId });
      return 'skipped';
    }
    const log = {
      task_id: taskId,
      task_type: claim.task.taskType,
      attempt: claim.attempt,
      execution_id: claim.executionId,
    };
    this.telemetry.attemptStarted(claim);
    if (claim.abandonedExecutions > 0) {
      this.logger.warn('took over a task whose worker stopped', {
        ...log,
        abandoned: claim.abandonedExecutions,
      });
    }
    const handler = this.handlers.get(claim.task.taskType);
    if (!handler) {
      await this.tasks.finish(claim, {
        kind: 'failed',
        error: `no handler for ${claim.task.taskType}`,
      });
      this.telemetry.attemptEnded(claim, 'failed');
      return 'failed';
    }
    const started = Date.now();
    // The attempt's deadline, before its lease ends: past it, this attempt starts nothing outside.
    const sendBy = started + this.config.task.timeoutMs;
    try {
      const event = claim.task.webhookEventId
        ? await this.dataSource
            .getRepository(WebhookEventEntity)
            .findOneBy({ id: claim.task.webhookEventId })
        : null;
      const result = await this.withDeadline((signal) =>
        handler.handle({
          task: claim.task,
          event,
          signal,
          attempt: claim.attempt,
          sendBy,
          checkpoint: (u) =>
            this.agentRuns.recordAgentRun(claim, u.codegenTaskId, u.codegenTaskUrl),
          markAgentRunRequested: (requested) => this.markAgentRunRequested(claim, requested),
        }),
      );
      if (result.cancel !== undefined) {
        const cancelled = await this.tasks.finish(claim, {
          kind: 'cancelled',
          reason: result.cancel,
          outputData: result.outputData,
        });
        if (!cancelled) return this.lost(log);
        this.telemetry.attemptEnded(claim, 'cancelled');
        this.logger.info('task cancelled by policy', { ...log, reason: result.cancel });
        return 'cancelled';
      }
      if (result.waitForAgentRun) {
        // The run is followed by poll jobs; the task stays running with a fresh lease.
        const delay = this.poller.delayFor(1);
        if (
          !(await this.tasks.markWaiting(claim, result.outputData, this.poller.leaseFor(delay)))
        ) {
          return this.lost(log);
        }
        await this.poller.schedule(claim.task.taskId, 1, delay);
        this.telemetry.attemptEnded(claim, 'waiting');
        this.logger.info('agent run started; following it', {
          ...log,
          agent_run_id: result.codegen?.id,
        });
        return 'waiting';
      }
      const finished = await this.tasks.finish(
        claim,
        { kind: 'completed', outputData: result.outputData, codegen: result.codegen },
        result.children ?? [],
      );
      if (!finished) return this.lost(log);
      this.telemetry.attemptEnded(claim, 'completed', finished.children);
      if (finished.children.length > 0) {
        await this.enqueuer.enqueue(
          finished.children.map((c) => ({ ...c, attemptsLeft: claim.task.maxRetries + 1 })),
        );
      }
      this.logger.info('task completed', {
        ...log,
        duration_ms: Date.now() - started,
        children: finished.children.length,
      });
      return 'completed';
    } catch (error) {
      return this.fail(claim, error, log);
    }
  }

  /** The request mark, and for a request one of Codegen's creations of the sliding minute. */
  private async markAgentRunRequested(claim: ClaimedTask, requested: boolean): Promise<boolean> {
    if (!requested) return this.agentRuns.markAgentRunRequested(claim, false);
    const slot = await this.creates.reserve(
      claim,
      this.config.codegen.createLimitPerMinute,
      CODEGEN_CREATE_WINDOW_MS,
    );
    if (slot.kind === 'wait') throw new CodegenCreateLimitError(slot.waitMs, slot.inWindow);
    return slot.kind === 'reserved';
  }

  private async fail(
    claim: ClaimedTask,
    error: unknown,
    log: Record<string, unknown>,
  ): Promise<RunOutcome> {
    if (error instanceof GithubRateLimitError) return this.hold(claim, error, log);
    if (error instanceof HoldAttemptError) {
      const message = error.message;
      if (!(await this.tasks.holdForRateLimit(claim, message))) return this.lost(log);
      this.telemetry.attemptEnded(claim, 'held');
      this.logger.info('task held without spending an attempt', {
        ...log,
        wait_ms: error.waitMs,
        reason: message,
        ...(error instanceof CodegenCreateLimitError
          ? { creations_in_window: error.inWindow }
          : {}),
      });
      throw new TaskHoldError(message, error.waitMs);
    }
    const message = describeError(error);
    const transient = isTransientError(error);
    // What the service sent when it broke its contract (already scrubbed and bounded).
    const answer = answerOf(error);
    if (answer !== undefined) log = { ...log, answer };
    if (transient && claim.task.retryCount < claim.task.maxRetries) {
      const scheduled = await this.tasks.scheduleRetry(claim, message);
      if (!scheduled) return this.lost(log);
      this.telemetry.attemptEnded(claim, 'retrying');
      this.logger.warn('task attempt failed; retrying with backoff', { ...log, error: message });
      throw new RetryLaterError(
        message,
        error instanceof ExternalServiceError ? error.retryAfterMs : undefined,
      );
    }
    const finished = await this.tasks.finish(claim, {
      kind: 'failed',
      error: message,
      outputData: {
        error_kind: transient ? 'retries_exhausted' : 'permanent',
        attempts: claim.attempt,
      },
    });
    if (!finished) return this.lost(log);
    this.telemetry.attemptEnded(claim, 'failed');
    this.logger.error('task failed', { ...log, error: message, transient });
    return 'failed';
  }

  /**
   * GitHub said the identity is rate limited: the attempt stops, is not spent, and the task comes
   * back once the wait is over (GitHub asks for no calls meanwhile; the gate keeps the claim off).
   */
  private async hold(
    claim: ClaimedTask,
    error: GithubRateLimitError,
    log: Record<string, unknown>,
  ): Promise<RunOutcome> {
    const message = describeError(error);
    if (!(await this.tasks.holdForRateLimit(claim, message))) return this.lost(log);
    this.telemetry.attemptEnded(claim, 'held');
    const waitMs = error.retryAfterMs ?? this.config.task.backoffBaseMs;
    this.logger.warn('GitHub rate limit; task held without spending an attempt', {
      ...log,
      identity: error.hold.identity,
      limit: error.hold.kind,
      until: new Date(error.hold.untilMs).toISOString(),
      wait_ms: waitMs,
      error: message,
    });
    throw new TaskHoldError(message, waitMs);
  }

  private lost(log: Record<string, unknown>): RunOutcome {
    this.logger.warn('another worker took this task over; dropping this attempt', log);
    return 'lost';
  }

  private async withDeadline<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // The deadline's error first, then the abort: a handler that rejects inside the abort
        // itself must not win the race and turn a retryable timeout into a permanent failure.
        reject(
          new ExternalServiceError(
            'worker',
            `attempt exceeded its deadline of ${this.config.task.timeoutMs} ms`,
            true,
          ),
        );
        controller.abort();
      }, this.config.task.timeoutMs);
    });
    try {
      return await Promise.race([work(controller.signal), deadline]);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}

/** The raw answer an ExternalServiceError carries for the log (see GithubAnswerError). */
function answerOf(error: unknown): string | undefined {
  if (!(error instanceof ExternalServiceError)) return undefined;
  const answer = (error as { answer?: unknown }).answer;
  return typeof answer === 'string' ? answer : undefined;
}

function describeError(error: unknown): string {
  if (error instanceof ExternalServiceError) {
    return `${error.service}: ${error.message}${error.status ? ` (HTTP ${error.status})` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}
