import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { InstallationChange } from '@app/domain';
import { InstallationRepository } from '../installations/installation.repository';
import { TaskLifecycleRepository } from '../tasks/task-lifecycle.repository';
import {
  NewEvent,
  NewTask,
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
   * Stores a delivery; false when its delivery id is already stored (the replay guard), in which
   * case nothing else is written either.
   */
  async storeDelivery(
    event: NewEvent,
    tasks: NewTask[],
    installationChange: InstallationChange | null = null,
  ): Promise<boolean> {
    if (installationChange === null) {
      return (await this.events.insertWithTasks(this.statements, event, tasks)) !== null;
    }
    return this.dataSource.transaction(async (m) => {
      const stored = await this.events.insertWithTasks(m, event, tasks);
      if (stored === null) return false;
      await this.installations.recordChange(m, installationChange);
      await this.lifecycle.cancelForLostAccess(m, installationChange);
      return true;
    });
  }
}
