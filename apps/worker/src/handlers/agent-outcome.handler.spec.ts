import { Registry } from 'prom-client';
import { agentOutcomeFacts, outcomeFactsToInput, TaskType } from '@app/domain';
import { DomainError } from '@app/platform';
import { AgentRunOutcomeRepository, WorkflowTaskEntity } from '@app/persistence';
import { useWorkerTestBed } from '../../../../test/support/worker-test-bed';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { AgentOutcomeTelemetry } from '../agents/agent-outcome-telemetry';
import { AgentOutcomes } from '../agents/agent-outcomes.service';
import { AgentOutcomeHandler } from './agent-outcome.handler';
import { PrCommenter } from './pr-commenter';
import { TaskContext } from './task-handler';

const bed = useWorkerTestBed({ githubToken: 'ghp_unit_outcomes' });
const { db } = bed;
const REPOSITORY = 'octo-org/app';
const RUN_HEAD = 'a'.repeat(40);

let handler: AgentOutcomeHandler;

beforeEach(() => {
  const config = bed.config();
  const github = bed.github();
  const commenter = new PrCommenter(github, config, bed.logger);
  handler = new AgentOutcomeHandler(
    new AgentOutcomes(
      new AgentRunOutcomeRepository(db.dataSource),
      db.dataSource,
      commenter,
      github,
      new AgentOutcomeTelemetry(new Registry()),
      config,
      bed.logger,
    ),
  );
});

/** An agent run started for pull request #7's failing build, its outcome pending. */
async function pendingRun(): Promise<string> {
  const { taskIds } = await storeEvent(db.dataSource, {
    repository: REPOSITORY,
    tasks: [
      {
        taskType: TaskType.CodegenTrigger,
        repository: REPOSITORY,
        prNumber: 7,
        commitSha: RUN_HEAD,
      },
    ],
  });
  await new AgentRunOutcomeRepository(db.dataSource).createPending({
    taskId: taskIds[0],
    repository: REPOSITORY,
    prNumber: 7,
    triggerKind: 'check_failure',
    checkScope: 'check_run',
    failingChecks: ['build'],
    failingCheckCompletedAt: null,
    headSha: RUN_HEAD,
    codegenRunId: '12',
    codegenStatus: 'ACTIVE',
    webUrl: null,
    followUpOf: null,
    followUpCount: 0,
  });
  return taskIds[0];
}

/** The agent_outcome task the intake stores for a synchronize of #7 by `pusher`. */
function synchronize(after: string, pusher: string): TaskContext {
  const facts = agentOutcomeFacts('pull_request', {
    action: 'synchronize',
    number: 7,
    after,
    pull_request: { number: 7 },
    repository: { full_name: REPOSITORY },
    sender: { login: pusher, type: 'User' },
  });
  if (!facts) throw new Error('no facts');
  const task = Object.assign(new WorkflowTaskEntity(), {
    taskType: TaskType.AgentOutcome,
    repository: REPOSITORY,
    prNumber: 7,
    inputData: outcomeFactsToInput(facts),
  });
  return {
    task,
    event: null,
    signal: new AbortController().signal,
    attempt: 1,
    sendBy: Date.now() + 60_000,
    checkpoint: () => Promise.resolve(true),
    markAgentRunRequested: () => Promise.resolve(true),
  };
}

async function outcome(
  taskId: string,
): Promise<{ outcome: string; agent_head_sha: string | null }> {
  const [row] = await db.rows<{ outcome: string; agent_head_sha: string | null }>(
    'SELECT outcome, agent_head_sha FROM agent_run_outcomes WHERE task_id = $1',
    [taskId],
  );
  return row;
}

describe('AgentOutcomeHandler', () => {
  it('judges a pending run superseded when a person pushes to its pull request', async () => {
    const run = await pendingRun();
    const result = await handler.handle(synchronize('b'.repeat(40), 'mona'));
    expect(result.outputData).toEqual({
      event: 'head_pushed',
      judged: [{ task_id: run, outcome: 'superseded' }],
    });
    expect(result.children).toEqual([]);
    expect((await outcome(run)).outcome).toBe('superseded');
  });

  it("keeps waiting on the agent's own push, noting its commit", async () => {
    const run = await pendingRun();
    const result = await handler.handle(synchronize('c'.repeat(40), 'codegen-sh[bot]'));
    expect(result.outputData).toEqual({ event: 'head_pushed', judged: [] });
    expect(await outcome(run)).toEqual({ outcome: 'pending', agent_head_sha: 'c'.repeat(40) });
  });

  it('refuses a task whose input holds no facts', async () => {
    const ctx = synchronize('d'.repeat(40), 'mona');
    ctx.task.inputData = {};
    await expect(handler.handle(ctx)).rejects.toBeInstanceOf(DomainError);
  });
});
