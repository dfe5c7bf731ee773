import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { judgeAgentRun, OutcomeRules } from '@app/domain';
import { AgentRunOutcomeRepository, NewAgentRunOutcome } from '@app/persistence';
import { closeDb, db, truncateAll } from './support/harness';

const RULES: OutcomeRules = {
  agentPusherLogins: ['codegen-sh[bot]'],
  windowMs: 60_000,
  includeCancelledChecks: false,
};

/** The outcome table and its one repository, against the run's real PostgreSQL. */
describe('agent run outcomes (storage)', () => {
  let dataSource: DataSource;
  let outcomes: AgentRunOutcomeRepository;

  beforeAll(async () => {
    dataSource = new DataSource({ type: 'postgres', url: process.env.TEST_DATABASE_URL });
    await dataSource.initialize();
    outcomes = new AgentRunOutcomeRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource.destroy();
    await closeDb();
  });

  beforeEach(() => truncateAll());

  async function trigger(): Promise<string> {
    const id = randomUUID();
    await db().query(
      `INSERT INTO workflow_tasks (task_id, task_type, status, input_data) VALUES ($1, 'codegen_trigger', 'running', '{}')`,
      [id],
    );
    return id;
  }

  function draft(taskId: string, overrides: Partial<NewAgentRunOutcome> = {}): NewAgentRunOutcome {
    return {
      taskId,
      repository: 'Octo-Org/App',
      prNumber: 7,
      triggerKind: 'check_failure',
      checkScope: 'check_run',
      failingChecks: ['ci / test'],
      failingCheckCompletedAt: new Date('2026-12-01T10:00:00Z'),
      headSha: 'a'.repeat(40),
      codegenRunId: '101',
      codegenStatus: 'ACTIVE',
      webUrl: 'https://codegen.com/agent/trace/101',
      followUpOf: null,
      followUpCount: 0,
      ...overrides,
    };
  }

  it('stores one pending outcome per trigger, found by the pull request a delivery names', async () => {
    const taskId = await trigger();
    expect(await outcomes.createPending(draft(taskId))).toBe(true);
    expect(await outcomes.createPending(draft(taskId))).toBe(false);
    const stored = await outcomes.findByTaskId(taskId);
    expect(stored).toMatchObject({
      outcome: 'pending',
      repository: 'octo-org/app',
      failingChecks: ['ci / test'],
      agentPrNumbers: [],
      observations: [],
      followUpOf: null,
    });
    expect(await outcomes.pendingFor('octo-org/APP', { prNumbers: [7] })).toEqual([taskId]);
    expect(await outcomes.pendingFor('octo-org/app', { prNumbers: [8] })).toEqual([]);
    expect(await outcomes.pendingFor('octo-org/other', { prNumbers: [7] })).toEqual([]);
  });

  it('refuses an outcome outside the documented values and a trigger that does not exist', async () => {
    const taskId = await trigger();
    await outcomes.createPending(draft(taskId));
    await expect(
      db().query(`UPDATE agent_run_outcomes SET outcome = 'maybe' WHERE task_id = $1`, [taskId]),
    ).rejects.toThrow(/ck_agent_run_outcomes_outcome/);
    await expect(outcomes.createPending(draft(randomUUID()))).rejects.toThrow(/foreign key/);
  });

  it('concurrent deliveries for one run are applied one after the other and judge it once', async () => {
    const taskId = await trigger();
    await outcomes.createPending(draft(taskId));
    const agentSha = 'b'.repeat(40);
    const push = () =>
      outcomes.judge(taskId, (current) =>
        judgeAgentRun(
          current,
          { kind: 'head_pushed', prNumber: 7, after: agentSha, pusher: 'codegen-sh[bot]' },
          RULES,
          new Date(),
        ),
      );
    const success = () =>
      outcomes.judge(taskId, (current) =>
        judgeAgentRun(
          current,
          {
            kind: 'check_completed',
            scope: 'check_run',
            name: 'ci / test',
            conclusion: 'success',
            headSha: agentSha,
            prNumbers: [7],
            completedAt: new Date('2026-12-01T10:14:00Z'),
          },
          RULES,
          new Date(),
        ),
      );
    // The synchronize and a redelivered success race each other.
    const changes = await Promise.all([success(), push(), success(), push()]);
    const judged = changes.filter((c) => c?.after.outcome === 'fixed');
    expect(judged).toHaveLength(1);
    const stored = await outcomes.findByTaskId(taskId);
    expect(stored).toMatchObject({
      outcome: 'fixed',
      timeToGreenSeconds: 840,
      judgedSha: agentSha,
      agentHeadSha: agentSha,
    });
    expect(await outcomes.pendingFor('octo-org/app', { prNumbers: [7] })).toEqual([]);
  });

  it('finds runs that ended before a time with nothing from the agent', async () => {
    const quiet = await trigger();
    const pushed = await trigger();
    await outcomes.createPending(draft(quiet));
    await outcomes.createPending(draft(pushed, { prNumber: 8 }));
    const end = new Date(Date.now() - 120_000);
    for (const taskId of [quiet, pushed])
      await outcomes.judge(taskId, (current) =>
        judgeAgentRun(
          current,
          { kind: 'run_finished', succeeded: true, agentPrNumbers: [], at: end },
          RULES,
          new Date(),
        ),
      );
    await outcomes.judge(pushed, (current) =>
      judgeAgentRun(
        current,
        { kind: 'head_pushed', prNumber: 8, after: 'c'.repeat(40), pusher: 'codegen-sh[bot]' },
        RULES,
        new Date(),
      ),
    );
    expect(await outcomes.pendingFinishedBefore(new Date(Date.now() - 60_000), 10)).toEqual([
      quiet,
    ]);
    expect(
      await outcomes.pendingFor('octo-org/app', { prNumbers: [], sha: 'c'.repeat(40) }),
    ).toEqual([pushed]);
  });

  it('records the run status while the outcome stays pending', async () => {
    const taskId = await trigger();
    await outcomes.createPending(draft(taskId));
    await outcomes.recordRun(taskId, { status: 'RUNNING', webUrl: null });
    expect(await outcomes.findByTaskId(taskId)).toMatchObject({
      codegenStatus: 'RUNNING',
      webUrl: 'https://codegen.com/agent/trace/101',
    });
  });

  it('goes with its trigger when retention deletes the task', async () => {
    const taskId = await trigger();
    await outcomes.createPending(draft(taskId));
    await db().query(`DELETE FROM workflow_tasks WHERE task_id = $1`, [taskId]);
    expect(await outcomes.findByTaskId(taskId)).toBeNull();
  });
});
