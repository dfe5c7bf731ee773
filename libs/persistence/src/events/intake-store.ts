import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Pool, PoolConfig } from 'pg';
import { DataSource } from 'typeorm';
import type { InstallationChange } from '@app/domain';
import { InstallationRepository } from '../installations/installation.repository';
import type { NewTask } from '../tasks/task-creation.repository';
import { TaskLifecycleRepository } from '../tasks/task-lifecycle.repository';
import {
  InsertResult,
  NewEvent,
  PendingOutcomeTask,
  pgPoolOf,
  PreparedStatements,
  WebhookEventRepository,
} from './webhook-event.repository';

export interface IntakeStoreOptions {
  /**
   * PostgreSQL's own limit on each intake statement (`statement_timeout`), in ms; absent or 0:
   * none. A statement it cancels is rolled back: see {@link IntakeStatementTimeoutError}.
   */
  statementTimeoutMs?: number;
}

/** SQLSTATE query_canceled: statement_timeout (or an operator's pg_cancel_backend) stopped it. */
const QUERY_CANCELED = '57014';

/**
 * PostgreSQL cancelled the store before it committed (its statement_timeout): the delivery was
 * definitely not stored, nothing of it was written.
 */
export class IntakeStatementTimeoutError extends Error {}

/**
 * What the intake writes for one verified delivery: the event and its tasks in one statement,
 * and for an installation event, in the same transaction, the installation change and the
 * cancelling of tasks that lost access.
 *
 * With a statement time limit, the one-statement path runs on a pool of its own whose
 * connections carry `statement_timeout` from their start (a startup parameter, so it costs no
 * round trip per delivery), with the shared pool's settings (size, TLS, timeouts); every other
 * statement of the process keeps the shared pool and no limit. The installation path runs in a
 * transaction on the shared pool and sets the limit there with `set_config(..., true)`, which
 * ends with the transaction.
 */
@Injectable()
export class IntakeStore implements OnApplicationShutdown {
  /** The store statement, parsed and planned once per connection instead of per delivery. */
  private readonly statements = new PreparedStatements(() => this.pool());
  private ownPool: Pool | null = null;
  private readonly statementTimeoutMs: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: WebhookEventRepository,
    private readonly installations: InstallationRepository,
    private readonly lifecycle: TaskLifecycleRepository,
    options: IntakeStoreOptions = {},
  ) {
    this.statementTimeoutMs = options.statementTimeoutMs ?? 0;
  }

  /**
   * Stores a delivery, or refuses it when its delivery id is already stored or its body was
   * stored under another delivery id within the payload guard's window (the replay guards); a
   * refused delivery writes nothing else either.
   */
  async storeDelivery(
    event: NewEvent,
    tasks: NewTask[],
    installationChange: InstallationChange | null = null,
  ): Promise<InsertResult['kind']> {
    return (await this.store(event, tasks, installationChange)).kind;
  }

  /**
   * As storeDelivery, with `ifPending` stored as one more task when a pending agent-run outcome
   * matches it (looked up in the same statement; `judged` in the result tells). Rejects with
   * {@link IntakeStatementTimeoutError} when PostgreSQL cancelled it at the time limit.
   */
  async store(
    event: NewEvent,
    tasks: NewTask[],
    installationChange: InstallationChange | null = null,
    ifPending: PendingOutcomeTask | null = null,
  ): Promise<InsertResult> {
    try {
      if (installationChange === null) {
        return await this.events.insertWithTasks(this.statements, event, tasks, ifPending);
      }
      return await this.dataSource.transaction(async (m) => {
        if (this.statementTimeoutMs > 0) {
          await m.query(`SELECT set_config('statement_timeout', $1, true)`, [
            String(this.statementTimeoutMs),
          ]);
        }
        const stored = await this.events.insertWithTasks(m, event, tasks, ifPending);
        if (stored.kind !== 'stored') return stored;
        await this.installations.recordChange(m, installationChange);
        await this.lifecycle.cancelForLostAccess(m, installationChange);
        return stored;
      });
    } catch (error) {
      // Cancelled before its commit (PostgreSQL stops the timer before committing), and the
      // implicit or explicit transaction rolled back: nothing of the delivery is stored.
      if ((error as { code?: unknown }).code === QUERY_CANCELED) {
        throw new IntakeStatementTimeoutError((error as Error).message);
      }
      throw error;
    }
  }

  /** The connections of its own pool (for the process's pool gauges); null without one. */
  poolCounts(): { totalCount: number; idleCount: number; waitingCount: number } | null {
    const pool = this.ownPool;
    if (!pool) return null;
    return {
      totalCount: pool.totalCount,
      idleCount: pool.idleCount,
      waitingCount: pool.waitingCount,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    const pool = this.ownPool;
    if (pool && !pool.ended && !pool.ending) await pool.end();
  }

  /** The intake statement's pool: its own when it has a time limit, else the shared one. */
  private pool(): Pool {
    if (this.statementTimeoutMs <= 0) return pgPoolOf(this.dataSource);
    if (this.ownPool === null) {
      const shared = pgPoolOf(this.dataSource);
      // The same pg module (and so the same instrumentation) as the shared pool, and its
      // settings; the password is kept off the enumerable options by pg-pool.
      const SamePool = shared.constructor as new (config: PoolConfig) => Pool;
      const pool = new SamePool({
        ...shared.options,
        password: shared.options.password,
        statement_timeout: this.statementTimeoutMs,
      });
      // An idle connection's error (server restart) must not crash the process; pg drops it.
      pool.on('error', (error) => {
        this.dataSource.logger.log('warn', `intake pool raised an error: ${error.message}`);
      });
      this.ownPool = pool;
    }
    return this.ownPool;
  }
}
