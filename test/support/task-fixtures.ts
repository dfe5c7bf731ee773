import { randomUUID } from 'node:crypto';
import { TaskType } from '@app/domain';
import { NewTask, Queryable, WebhookEventRepository } from '@app/persistence';

/** A task to store with an event; fields left out take a pull request analysis's values. */
export type TaskSeed = Partial<NewTask>;

/**
 * Stores an event and its tasks the way the intake does (one statement), for repository and
 * service specs. Returns the event's id and the task ids in the order given.
 */
export async function storeEvent(
  db: Queryable,
  options: {
    deliveryId?: string;
    eventType?: string;
    installationId?: number | null;
    repository?: string | null;
    tasks?: TaskSeed[];
  } = {},
): Promise<{ eventId: number; taskIds: string[] }> {
  const repository = options.repository === undefined ? 'octo-org/app' : options.repository;
  const tasks: NewTask[] = (options.tasks ?? [{}]).map((t) => ({
    taskId: t.taskId ?? randomUUID(),
    taskType: t.taskType ?? TaskType.PullRequestAnalysis,
    repository: t.repository === undefined ? repository : t.repository,
    prNumber: t.prNumber === undefined ? 7 : t.prNumber,
    branch: t.branch === undefined ? 'feature' : t.branch,
    commitSha: t.commitSha === undefined ? 'a'.repeat(40) : t.commitSha,
    inputData: t.inputData ?? { action: 'opened' },
    maxRetries: t.maxRetries ?? 3,
  }));
  const stored = await new WebhookEventRepository().insertWithTasks(
    db,
    {
      deliveryId: options.deliveryId ?? randomUUID(),
      eventType: options.eventType ?? 'pull_request',
      action: 'opened',
      repository,
      installationId: options.installationId ?? null,
      senderLogin: 'octocat',
      payloadJson: '{"action":"opened"}',
      headers: {},
      processedAtIntake: tasks.length === 0,
      receivedVia: 'webhook',
    },
    tasks,
  );
  if (stored.kind !== 'stored') throw new Error('the delivery id was already stored');
  return { eventId: stored.eventId, taskIds: tasks.map((t) => t.taskId) };
}
