import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
import {
  CircuitOpenError,
  DomainError,
  ErrorCode,
  ExternalServiceError,
  LOGGER,
} from '@app/platform';
import { DeliveryRecoveryCursor, DeliveryRecoveryRepository } from '@app/persistence';
import {
  DeliveryHook,
  deliveryHookKey,
  GithubClient,
  GithubRateLimitError,
  HookDelivery,
} from '@app/github';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';
import { DeliveryRecoveryTelemetry } from './delivery-recovery.telemetry';
import {
  DeliveryRecoveryReport,
  RecoveryStopReason,
  reportToOutput,
} from './delivery-recovery.types';

/** GitHub keeps a hook's delivery log for 3 days; older deliveries cannot be redelivered. */
const WINDOW_MS = 72 * 3_600_000;
/** A delivery younger than this may still be committing at intake; the next pass looks again. */
const SETTLE_MS = 60_000;
/** Requests older than GitHub's log are pruned after this many days. */
const REQUEST_RETENTION_DAYS = 7;

export type DeliveryRecoveryOutcome =
  { ran: true; report: DeliveryRecoveryReport } | { ran: false; reason: string };

/**
 * Walks a webhook's delivery log back to the persisted cursor, finds deliveries from the last
 * 72 hours that are not in `webhook_events`, and asks GitHub to redeliver each once. Progress is
 * saved page by page, so a pass cut short (time, rate-limit budget, cap) resumes where it stopped.
 * One pass at a time across all workers (PostgreSQL advisory lock).
 */
@Injectable()
export class DeliveryRecoveryService {
  constructor(
    private readonly github: GithubClient,
    private readonly repository: DeliveryRecoveryRepository,
    private readonly telemetry: DeliveryRecoveryTelemetry,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** One pass for the task `taskId`; `signal` ends it early (what is done so far is kept). */
  async run(taskId: string | null, signal?: AbortSignal): Promise<DeliveryRecoveryOutcome> {
    const hook = this.config.deliveryRecovery.hook;
    if (!hook) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        'delivery recovery is not configured: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY, or DELIVERY_RECOVERY_HOOK with GITHUB_TOKEN',
      );
    }
    const locked = await this.repository.withRunLock(
      () => this.pass(hook, taskId, signal),
      this.config.workerId,
    );
    if (!locked.ran) {
      this.logger.info('delivery recovery skipped: another pass is running', { task_id: taskId });
      return { ran: false, reason: 'another delivery recovery pass is running' };
    }
    return { ran: true, report: locked.value };
  }

  private async pass(
    hook: DeliveryHook,
    taskId: string | null,
    signal: AbortSignal | undefined,
  ): Promise<DeliveryRecoveryReport> {
    const source = deliveryHookKey(hook);
    const started = Date.now();
    const windowStart = started - WINDOW_MS;
    const settledBefore = started - SETTLE_MS;
    // Stop starting pages well before the task's deadline; the next pass resumes.
    const softDeadline = started + Math.floor(this.config.task.timeoutMs / 2);
    await this.repository.pruneRequests(REQUEST_RETENTION_DAYS);
    const saved = await this.repository.loadCursor(source);
    const report: DeliveryRecoveryReport = {
      source,
      pages: 0,
      attemptsListed: 0,
      seen: 0,
      missing: 0,
      alreadyRequested: 0,
      redeliveryRequested: 0,
      failed: 0,
      complete: false,
      stoppedReason: null,
      cursor: saved.lastDeliveryId,
    };
    const walk: DeliveryRecoveryCursor = { ...saved };
    let newestSettledAtMs: number | null = null;
    let ok = false;
    try {
      for (;;) {
        const stop = this.stopReason(hook, signal, softDeadline);
        if (stop) {
          report.stoppedReason = stop;
          break;
        }
        let page;
        try {
          page = await this.readPage(hook, source, walk);
        } catch (error) {
          if (!(error instanceof GithubRateLimitError)) throw error;
          this.logger.warn('delivery log read hit a GitHub rate limit; a later pass resumes', {
            source,
            error: error.message,
          });
          report.stoppedReason = 'rate_limited';
          break;
        }
        report.pages++;
        let reachedEnd = false;
        const settled: HookDelivery[] = [];
        for (const delivery of page.deliveries) {
          const seenBefore = saved.lastDeliveryId !== null && delivery.id <= saved.lastDeliveryId;
          if (seenBefore || delivery.deliveredAtMs < windowStart) {
            reachedEnd = true;
            break;
          }
          report.attemptsListed++;
          if (delivery.deliveredAtMs > settledBefore) {
            walk.walkMinFreshId = minOf(walk.walkMinFreshId, delivery.id);
            continue;
          }
          walk.walkMaxId = maxOf(walk.walkMaxId, delivery.id);
          newestSettledAtMs = maxOf(newestSettledAtMs, delivery.deliveredAtMs);
          settled.push(delivery);
        }
        const pageStop = await this.askForMissing(hook, source, settled, taskId, report, signal);
        if (pageStop) {
          // This page is read again next time; what was asked for is recorded, so never twice.
          report.stoppedReason = pageStop;
          break;
        }
        if (reachedEnd || page.nextCursor === null) {
          const bound = cursorBound(walk);
          await this.repository.completeWalk(
            source,
            bound,
            newestSettledAtMs === null ? null : new Date(newestSettledAtMs),
          );
          report.complete = true;
          report.cursor = maxOf(saved.lastDeliveryId, bound);
          break;
        }
        walk.walkPageCursor = page.nextCursor;
        await this.repository.saveWalk(source, walk);
      }
      ok = true;
    } finally {
      this.telemetry.passEnded(report, ok);
      const fields = { task_id: taskId, ...reportToOutput(report) };
      if (ok) this.logger.info('delivery recovery pass ended', fields);
      else this.logger.warn('delivery recovery pass failed', fields);
    }
    return report;
  }

  /** A page of the log, where the unfinished walk stands; a cursor GitHub refuses restarts it. */
  private async readPage(hook: DeliveryHook, source: string, walk: DeliveryRecoveryCursor) {
    try {
      return await this.github.listHookDeliveries(hook, walk.walkPageCursor);
    } catch (error) {
      const stale =
        walk.walkPageCursor !== null &&
        error instanceof ExternalServiceError &&
        !error.transient &&
        (error.status === 400 || error.status === 404 || error.status === 422);
      if (!stale) throw error;
      this.logger.warn('saved delivery log cursor was refused; walking from the newest again', {
        source,
        error: error.message,
      });
      walk.walkPageCursor = null;
      walk.walkMaxId = null;
      walk.walkMinFreshId = null;
      await this.repository.saveWalk(source, walk);
      return this.github.listHookDeliveries(hook, null);
    }
  }

  /** Asks for every missing delivery of one page; returns why it stopped early, if it did. */
  private async askForMissing(
    hook: DeliveryHook,
    source: string,
    attempts: HookDelivery[],
    taskId: string | null,
    report: DeliveryRecoveryReport,
    signal: AbortSignal | undefined,
  ): Promise<RecoveryStopReason | null> {
    // One entry per attempt; a GUID is one delivery. Any attempt of it will do for a redelivery.
    const byGuid = new Map<string, HookDelivery>();
    for (const attempt of attempts) {
      const known = byGuid.get(attempt.guid);
      if (!known || attempt.id > known.id) byGuid.set(attempt.guid, attempt);
    }
    const guids = [...byGuid.keys()];
    report.seen += guids.length;
    const stored = await this.repository.storedDeliveryIds(guids);
    const missing = guids.filter((guid) => !stored.has(guid));
    report.missing += missing.length;
    const requested = await this.repository.requestedGuids(missing);
    report.alreadyRequested += requested.size;
    // Oldest first, so redelivered events reach intake roughly in their original order.
    const toAsk = missing
      .filter((guid) => !requested.has(guid))
      .map((guid) => byGuid.get(guid) as HookDelivery)
      .sort((a, b) => a.deliveredAtMs - b.deliveredAtMs || a.id - b.id);
    const cap = this.config.deliveryRecovery.maxRedeliveriesPerRun;
    for (const delivery of toAsk) {
      if (report.redeliveryRequested + report.failed >= cap) return 'redelivery_cap';
      const stop = this.stopReason(hook, signal, Number.POSITIVE_INFINITY);
      if (stop) return stop;
      const claimed = await this.repository.claimRedelivery({
        guid: delivery.guid,
        source,
        deliveryId: delivery.id,
        eventType: delivery.event,
        action: delivery.action,
        taskId,
      });
      if (!claimed) {
        report.alreadyRequested++;
        continue;
      }
      try {
        await this.github.redeliverHookDelivery(hook, delivery.id);
        await this.repository.finishRedelivery(delivery.guid, 'requested');
        report.redeliveryRequested++;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const fields = { source, guid: delivery.guid, delivery_id: delivery.id, error: message };
        if (error instanceof GithubRateLimitError) {
          // Not taken, and no failure: asked for again once the wait is over.
          await this.repository.releaseRedelivery(delivery.guid);
          this.logger.warn('redelivery request hit a GitHub rate limit; a later pass asks again', {
            ...fields,
            until: new Date(error.hold.untilMs).toISOString(),
          });
          return 'rate_limited';
        }
        report.failed++;
        if (githubDeclined(error)) {
          // GitHub said it could not take it now: a later pass asks again.
          await this.repository.releaseRedelivery(delivery.guid);
          this.logger.warn('redelivery request failed; a later pass asks again', fields);
          return 'github_error';
        }
        // Refused for good, or it may have reached GitHub (timeout): never asked again.
        await this.repository.finishRedelivery(delivery.guid, 'failed', message);
        this.logger.warn('redelivery request failed', fields);
      }
    }
    return null;
  }

  private stopReason(
    hook: DeliveryHook,
    signal: AbortSignal | undefined,
    softDeadline: number,
  ): RecoveryStopReason | null {
    if (signal?.aborted || Date.now() >= softDeadline) return 'time_limit';
    const identity = hook.kind === 'app' ? 'app' : null;
    if (this.github.rateLimitHold(identity)) return 'rate_limited';
    if (this.github.budgetWaitMs(identity) > 0) return 'rate_limit_budget';
    return null;
  }
}

/**
 * The new cursor of a finished walk: its newest settled attempt, kept below any attempt that was
 * too fresh to judge (so that one is examined again).
 */
function cursorBound(walk: DeliveryRecoveryCursor): number | null {
  if (walk.walkMaxId === null) return null;
  if (walk.walkMinFreshId === null) return walk.walkMaxId;
  return Math.min(walk.walkMaxId, walk.walkMinFreshId - 1);
}

/** GitHub answered that it could not take the request now (429, 5xx, open circuit). */
function githubDeclined(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return true;
  return (
    error instanceof ExternalServiceError &&
    error.transient &&
    error.status !== undefined &&
    (error.status === 429 || error.status === 403 || error.status >= 500)
  );
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

function minOf(a: number | null, b: number): number {
  return a === null ? b : Math.min(a, b);
}
