import { Registry } from 'prom-client';
import { TaskType } from '@app/domain';
import {
  ExclusiveRunRepository,
  TaskRelayRepository,
  WebhookEventRepository,
} from '@app/persistence';
import { JobName, QueueName, RunTaskJob } from '@app/runtime';
import { useWorkerTestBed } from '../../../../test/support/worker-test-bed';
import { storeEvent } from '../../../../test/support/task-fixtures';
import type { WorkerConfig } from '../config/worker.config';
import { RelayTelemetry } from '../listener/relay-telemetry';
import { RelayService } from './relay.service';

const bed = useWorkerTestBed({ queuePrefix: 'unit_relay' });
const { db } = bed;

let registry: Registry;
let relay: RelayService;

beforeEach(() => {
  const events = new WebhookEventRepository();
  const tasks = new TaskRelayRepository(db.dataSource);
  const lifecycle = bed.lifecycle(events);
  const enqueuer = bed.enqueuer(tasks);
  registry = new Registry();
  // Only the relay's settings are read by the service under test.
  const config = {
    relay: { intervalMs: 60_000, pendingAgeMs: 1000, queuedCheckAgeMs: 1000, batchSize: 50 },
    workerId: 'host:1',
  } as WorkerConfig;
  relay = new RelayService(
    tasks,
    lifecycle,
    new ExclusiveRunRepository(db.dataSource),
    enqueuer,
    bed.queues[QueueName.Analysis],
    bed.queues[QueueName.Codegen],
    bed.queues[QueueName.AgentRunPoll],
    config,
    bed.logger,
    new RelayTelemetry(registry),
  );
});

async function setState(taskId: string, sql: string): Promise<void> {
  await db.rows(`UPDATE workflow_tasks SET ${sql} WHERE task_id = $1`, [taskId]);
}

async function statusOf(taskId: string): Promise<{ status: string; retry_count: number }> {
  const [row] = await db.rows<{ status: string; retry_count: number }>(
    'SELECT status, retry_count FROM workflow_tasks WHERE task_id = $1',
    [taskId],
  );
  return row;
}

async function recovered(reason: string): Promise<number> {
  const metric = await registry.getSingleMetric('relay_recovered_tasks_total')!.get();
  return metric.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('RelayService.runOnce', () => {
  it('does nothing while another replica runs its pass, and logs each pass it runs', async () => {
    const { taskIds } = await storeEvent(db.dataSource, { tasks: [{}] });
    await setState(taskIds[0], "updated_at = now() - interval '1 minute'");
    await db.rows('DELETE FROM exclusive_runs');
    let release: () => void = () => undefined;
    const other = new ExclusiveRunRepository(db.dataSource).run(
      'relay',
      'host:2',
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    while ((await db.rows('SELECT 1 FROM exclusive_runs')).length === 0)
      await new Promise((r) => setTimeout(r, 10));
    expect(await relay.runOnce()).toEqual({
      pendingEnqueued: 0,
      queuedRestored: 0,
      expiredRequeued: 0,
    });
    expect((await statusOf(taskIds[0])).status).toBe('pending');
    release();
    await other;
    expect((await relay.runOnce()).pendingEnqueued).toBe(1);
    expect(
      await db.rows(`SELECT holder, outcome FROM exclusive_runs WHERE job = 'relay' ORDER BY id`),
    ).toEqual([
      { holder: 'host:2', outcome: 'done' },
      { holder: 'host:1', outcome: 'done' },
    ]);
  });

  it('enqueues a task committed but never handed to Bull, into its queue, and marks it queued', async () => {
    const { taskIds } = await storeEvent(db.dataSource, {
      tasks: [{}, { taskType: TaskType.CodegenTrigger }, {}],
    });
    await setState(taskIds[0], "updated_at = now() - interval '1 minute'");
    await setState(taskIds[1], "updated_at = now() - interval '1 minute'");
    // taskIds[2] is fresh: the intake's own enqueue may still be on its way.
    const result = await relay.runOnce();
    expect(result).toEqual({ pendingEnqueued: 2, queuedRestored: 0, expiredRequeued: 0 });
    expect(await bed.queues[QueueName.Analysis].getJob(taskIds[0])).not.toBeNull();
    expect(await bed.queues[QueueName.Codegen].getJob(taskIds[1])).not.toBeNull();
    expect(await bed.queues[QueueName.Analysis].getJob(taskIds[2])).toBeNull();
    expect((await statusOf(taskIds[0])).status).toBe('queued');
    expect((await statusOf(taskIds[2])).status).toBe('pending');
    expect(await recovered('pending')).toBe(2);
  });

  it('restores a queued task whose job Redis lost, and leaves one whose job is there', async () => {
    const { taskIds } = await storeEvent(db.dataSource, { tasks: [{}, {}] });
    await bed.queues[QueueName.Analysis].add(JobName.RunTask, { taskId: taskIds[1] } as RunTaskJob, {
      jobId: taskIds[1],
    });
    for (const id of taskIds)
      await setState(id, "status = 'queued', updated_at = now() - interval '1 minute'");
    const result = await relay.runOnce();
    expect(result).toEqual({ pendingEnqueued: 0, queuedRestored: 1, expiredRequeued: 0 });
    expect(await bed.queues[QueueName.Analysis].getJob(taskIds[0])).not.toBeNull();
    expect(await recovered('queued_lost')).toBe(1);
    // Looked at: the next pass does not look again before the age passes.
    expect(await relay.runOnce()).toEqual({
      pendingEnqueued: 0,
      queuedRestored: 0,
      expiredRequeued: 0,
    });
  });

  it('re-enqueues a task whose job Bull already finished (it will never run again)', async () => {
    const { taskIds } = await storeEvent(db.dataSource);
    const job = await bed.queues[QueueName.Analysis].add(
      JobName.RunTask,
      { taskId: taskIds[0] } as RunTaskJob,
      {
        jobId: taskIds[0],
      },
    );
    // Taken by a worker that then failed it for good, as Bull does with a job that stalled twice.
    await bed.queues[QueueName.Analysis].getNextJob();
    await job.moveToFailed({ message: 'job stalled more than allowable limit' }, true);
    await job.releaseLock();
    expect(await job.getState()).toBe('failed');
    await setState(taskIds[0], "status = 'queued', updated_at = now() - interval '1 minute'");
    expect((await relay.runOnce()).queuedRestored).toBe(1);
    expect(await (await bed.queues[QueueName.Analysis].getJob(taskIds[0]))!.getState()).toBe('waiting');
  });

  it('re-enqueues a task whose job is in none of Bull\'s lists (it would never run), unless a worker holds its lock', async () => {
    const { taskIds } = await storeEvent(db.dataSource, { tasks: [{}, {}] });
    const queue = bed.queues[QueueName.Analysis];
    for (const id of taskIds) {
      await queue.add(JobName.RunTask, { taskId: id } as RunTaskJob, { jobId: id });
      // The job's hash stays, but no list holds it: no worker will ever take it.
      await queue.client.lrem(queue.toKey('wait'), 0, id);
      await setState(id, "status = 'queued', updated_at = now() - interval '1 minute'");
    }
    // The second one is held by a worker (its lock is there): that is Bull's to sort out.
    await queue.client.set(`${queue.toKey(taskIds[1])}:lock`, 'a-worker-token', 'PX', 60_000);
    expect(await (await queue.getJob(taskIds[0]))!.getState()).toBe('stuck');
    expect((await relay.runOnce()).queuedRestored).toBe(1);
    expect(await (await queue.getJob(taskIds[0]))!.getState()).toBe('waiting');
    expect(await (await queue.getJob(taskIds[1]))!.getState()).toBe('stuck');
    expect(await recovered('queued_lost')).toBe(1);
  });

  it('requeues a running task whose lease expired and whose job is gone, spending an attempt', async () => {
    const { taskIds } = await storeEvent(db.dataSource, { tasks: [{}, {}] });
    for (const id of taskIds)
      await setState(id, "status = 'running', lease_expires_at = now() - interval '1 minute'");
    // This one's job still exists: Bull's stalled-job recovery owns it.
    await bed.queues[QueueName.Analysis].add(JobName.RunTask, { taskId: taskIds[1] } as RunTaskJob, {
      jobId: taskIds[1],
    });
    const result = await relay.runOnce();
    expect(result).toEqual({ pendingEnqueued: 0, queuedRestored: 0, expiredRequeued: 1 });
    expect(await statusOf(taskIds[0])).toEqual({ status: 'queued', retry_count: 1 });
    expect(await bed.queues[QueueName.Analysis].getJob(taskIds[0])).not.toBeNull();
    expect((await statusOf(taskIds[1])).status).toBe('running');
    expect(await recovered('lease_expired')).toBe(1);
  });

  it('fails an expired task whose attempts are spent instead of requeueing it', async () => {
    const { eventId, taskIds } = await storeEvent(db.dataSource, { tasks: [{ maxRetries: 0 }] });
    await setState(
      taskIds[0],
      "status = 'running', lease_expires_at = now() - interval '1 minute'",
    );
    expect((await relay.runOnce()).expiredRequeued).toBe(0);
    expect((await statusOf(taskIds[0])).status).toBe('failed');
    expect(await bed.queues[QueueName.Analysis].getJob(taskIds[0])).toBeNull();
    const [event] = await db.rows<{ processed: boolean }>(
      'SELECT processed FROM webhook_events WHERE id = $1',
      [eventId],
    );
    expect(event.processed).toBe(true);
  });
});
