import { TaskType } from '@app/domain';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { WebhookEventRepository } from '../events/webhook-event.repository';
import { TaskExecutionRepository } from '../executions/task-execution.repository';
import { TaskLifecycleRepository } from '../tasks/task-lifecycle.repository';
import { AgentRunRepository } from './agent-run.repository';
import { TaskCreationRepository } from '../tasks/task-creation.repository';

const db = useUnitDatabase();
let agentRuns: AgentRunRepository;
let lifecycle: TaskLifecycleRepository;
const HEAD = 'a'.repeat(40);

beforeAll(() => {
  const events = new WebhookEventRepository();
  agentRuns = new AgentRunRepository(db.dataSource, events);
  lifecycle = new TaskLifecycleRepository(
    db.dataSource,
    events,
    new TaskExecutionRepository(db.dataSource),
    new TaskCreationRepository(),
  );
});

async function row(taskId: string): Promise<Record<string, unknown>> {
  const [r] = await db.rows(
    `SELECT status, codegen_task_id, codegen_task_url, agent_run_requested_at, error_message
       FROM workflow_tasks WHERE task_id = $1`,
    [taskId],
  );
  return r;
}

describe('AgentRunRepository', () => {
  it('recordAgentRun and markAgentRunRequested write under the claim only', async () => {
    const { taskIds } = await storeEvent(db.dataSource, {
      tasks: [{ taskType: TaskType.CodegenTrigger }],
    });
    const claim = (await lifecycle.claimForRun(taskIds[0], 'w', 'codegen', 60_000))!;
    expect(await agentRuns.markAgentRunRequested(claim, true)).toBe(true);
    expect((await row(taskIds[0])).agent_run_requested_at).toBeInstanceOf(Date);
    expect(await agentRuns.recordAgentRun(claim, 'run-1', 'https://codegen.example/runs/1')).toBe(
      true,
    );
    expect(await row(taskIds[0])).toMatchObject({
      codegen_task_id: 'run-1',
      codegen_task_url: 'https://codegen.example/runs/1',
    });
    expect(await agentRuns.markAgentRunRequested(claim, false)).toBe(true);
    expect((await row(taskIds[0])).agent_run_requested_at).toBeNull();
    const lost = { ...claim, claimToken: '00000000-0000-4000-8000-000000000000' };
    expect(await agentRuns.markAgentRunRequested(lost, true)).toBe(false);
    // An attempt that lost its claim is told so: it must not act on the run (comment on it).
    expect(await agentRuns.recordAgentRun(lost, 'run-2', null)).toBe(false);
    expect((await row(taskIds[0])).codegen_task_id).toBe('run-1');
  });

  it('countRecentAgentRuns counts triggers of the PR that started a run in the last 24 hours', async () => {
    const { taskIds } = await storeEvent(db.dataSource, {
      tasks: [
        { taskType: TaskType.CodegenTrigger },
        { taskType: TaskType.CodegenTrigger },
        { taskType: TaskType.CodegenTrigger },
        { taskType: TaskType.CodegenTrigger, prNumber: 8 },
      ],
    });
    await db.rows(`UPDATE workflow_tasks SET codegen_task_id = 'r' || id`);
    await db.rows(`UPDATE workflow_tasks SET codegen_task_id = NULL WHERE task_id = $1`, [
      taskIds[1],
    ]);
    await db.rows(
      `UPDATE workflow_tasks SET created_at = now() - interval '25 hours' WHERE task_id = $1`,
      [taskIds[2]],
    );
    expect(await agentRuns.countRecentAgentRuns('octo-org/app', 7)).toBe(1);
  });

  it('newerHeadSha names the head a later synchronize of the PR moved to', async () => {
    const { taskIds } = await storeEvent(db.dataSource, {
      tasks: [{ taskType: TaskType.CodegenTrigger, commitSha: HEAD }],
    });
    const trigger = (await lifecycle.findByTaskId(taskIds[0]))!;
    expect(await agentRuns.newerHeadSha(trigger)).toBeNull();
    await storeEvent(db.dataSource, {
      tasks: [{ commitSha: 'b'.repeat(40), inputData: { action: 'opened' } }],
    });
    expect(await agentRuns.newerHeadSha(trigger)).toBeNull(); // not a synchronize
    await storeEvent(db.dataSource, {
      tasks: [{ commitSha: 'c'.repeat(40), inputData: { action: 'synchronize' } }],
    });
    expect(await agentRuns.newerHeadSha(trigger)).toBe('c'.repeat(40));
  });

  it('releaseHeldTriggers puts untrusted triggers of the head back to pending once, and reopens their event', async () => {
    const { eventId, taskIds } = await storeEvent(db.dataSource, {
      tasks: [
        { taskType: TaskType.CodegenTrigger, commitSha: HEAD },
        { taskType: TaskType.CodegenTrigger, commitSha: 'b'.repeat(40) },
      ],
    });
    await db.rows(
      `UPDATE workflow_tasks SET status = 'cancelled', error_message = 'untrusted: outside contributor'`,
    );
    await db.rows(`UPDATE webhook_events SET processed = true`);
    const released = await agentRuns.releaseHeldTriggers('octo-org/app', 7, HEAD.toUpperCase());
    expect(released).toEqual([{ taskId: taskIds[0], attemptsLeft: 4 }]);
    expect(await row(taskIds[0])).toMatchObject({ status: 'pending', error_message: null });
    expect((await row(taskIds[1])).status).toBe('cancelled');
    const [ev] = await db.rows<{ processed: boolean }>(
      'SELECT processed FROM webhook_events WHERE id = $1',
      [eventId],
    );
    expect(ev.processed).toBe(false);
    expect(await agentRuns.releaseHeldTriggers('octo-org/app', 7, HEAD)).toEqual([]);
  });

  it('releaseHeldTriggers keeps a trigger held when its commit already has another live trigger', async () => {
    const { taskIds } = await storeEvent(db.dataSource, {
      tasks: [
        { taskType: TaskType.CodegenTrigger, commitSha: HEAD },
        { taskType: TaskType.CodegenTrigger, commitSha: HEAD },
      ],
    });
    await db.rows(
      `UPDATE workflow_tasks SET status = 'cancelled', error_message = 'untrusted: x' WHERE task_id = $1`,
      [taskIds[0]],
    );
    await db.rows(`UPDATE workflow_tasks SET dedupe_key = 'agent:' || commit_sha`);
    expect(await agentRuns.releaseHeldTriggers('octo-org/app', 7, HEAD)).toEqual([]);
    expect((await row(taskIds[0])).status).toBe('cancelled');
  });
});
