import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
import { TaskType } from '@app/domain';
import { LOGGER } from '@app/platform';
import { AgentRunRepository, WorkflowTaskEntity } from '@app/persistence';
import { TaskEnqueuer } from '@app/runtime';

/**
 * A maintainer added the opt-in label: the agent triggers the trust gate held back for that
 * pull request at its current head SHA start, once. Nothing held (an unknown PR, a PR whose
 * trigger never ran or already ran): nothing happens, and the analysis says so.
 */
@Injectable()
export class TrustLabelRelease {
  constructor(
    private readonly agentRuns: AgentRunRepository,
    private readonly enqueuer: TaskEnqueuer,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async release(task: WorkflowTaskEntity, label: string | null): Promise<Record<string, unknown>> {
    if (!task.repository || task.prNumber === null || !task.commitSha)
      return {
        action: 'labeled',
        label,
        released_task_ids: [],
        reason: 'no pull request head in the event',
      };
    const released = await this.agentRuns.releaseHeldTriggers(
      task.repository,
      task.prNumber,
      task.commitSha,
    );
    if (released.length > 0) {
      this.logger.info('trust label released held agent triggers', {
        task_id: task.taskId,
        released_task_ids: released.map((r) => r.taskId),
      });
      // The relay enqueues them anyway if this add misses.
      await this.enqueuer.enqueue(
        released.map((r) => ({
          taskId: r.taskId,
          taskType: TaskType.CodegenTrigger,
          attemptsLeft: r.attemptsLeft,
        })),
      );
    }
    return {
      action: 'labeled',
      label,
      released_task_ids: released.map((r) => r.taskId),
      ...(released.length === 0
        ? { reason: `no agent run held back by the trust gate at ${task.commitSha}` }
        : {}),
    };
  }
}
