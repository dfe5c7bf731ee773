import { Injectable } from '@nestjs/common';
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

/**
 * What the intake writes for one verified delivery: the event and its tasks in one statement,
 * and for an installation event, in the same transaction, the installation change and the
 * cancelling of tasks that lost access.
 */
@Injectable()
export class IntakeStore {
  /** The store statement, parsed and planned once per connection instead of per delivery. */
  private readonly statements = new PreparedStatements(() => pgPoolOf(this.dataSource));

  constructor(
    private readonly dataSource: DataSource,
    private readonly events: WebhookEventRepository,
    private readonly installations: InstallationRepository,
    private readonly lifecycle: TaskLifecycleRepository,
  ) {}

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
   * matches it (looked up in the same statement; `judged` in the result tells).
   */
  async store(
    event: NewEvent,
    tasks: NewTask[],
    installationChange: InstallationChange | null = null,
    ifPending: PendingOutcomeTask | null = null,
  ): Promise<InsertResult> {
    if (installationChange === null) {
      return this.events.insertWithTasks(this.statements, event, tasks, ifPending);
    }
    return this.dataSource.transaction(async (m) => {
      const stored = await this.events.insertWithTasks(m, event, tasks, ifPending);
      if (stored.kind !== 'stored') return stored;
      await this.installations.recordChange(m, installationChange);
      await this.lifecycle.cancelForLostAccess(m, installationChange);
      return stored;
    });
  }
}
