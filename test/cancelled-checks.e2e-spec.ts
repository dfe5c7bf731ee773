import {
  closeDb,
  deliver,
  drainAndTruncate,
  example,
  finished,
  taskRows,
  waitFor,
} from './support/harness';
import { useStack } from './support/stack';

/**
 * `include_cancelled_checks` (CHECK_INCLUDE_CANCELLED) end to end: the routing, the analysis and
 * both check handlers share one definition of a failing check, so a cancelled check either leads
 * to an agent run or is ignored at intake; it never becomes a task that then finds nothing wrong.
 */

const SHA = 'c'.repeat(40);
const PR = 7;

function completedCheckRun(conclusion: string) {
  const payload = example('check_run', (p) => p.action === 'completed');
  payload.check_run.name = 'unit tests';
  payload.check_run.id = 5151;
  payload.check_run.conclusion = conclusion;
  payload.check_run.head_sha = SHA;
  payload.check_run.pull_requests = [
    {
      url: 'x',
      id: PR,
      number: PR,
      head: { ref: 'feature', sha: SHA, repo: payload.repository },
      base: { ref: 'main', sha: 'd'.repeat(40), repo: payload.repository },
    },
  ];
  return payload;
}

function completedCheckSuite(conclusion: string) {
  const payload = example('check_suite', (p) => p.action === 'completed');
  payload.check_suite.conclusion = conclusion;
  payload.check_suite.head_sha = SHA;
  payload.check_suite.pull_requests = [
    { number: PR, head: { ref: 'feature', sha: SHA }, base: { ref: 'main', sha: 'd'.repeat(40) } },
  ];
  return payload;
}

/** Orchestrator and worker with the same CHECK_INCLUDE_CANCELLED, as a deployment runs them. */
function stack(includeCancelled: boolean) {
  const ctx = Object.assign(
    useStack({
      prefix: `${process.env.TEST_QUEUE_PREFIX}_cancelled_${includeCancelled ? 'on' : 'off'}`,
      env: { CHECK_INCLUDE_CANCELLED: String(includeCancelled) },
    }),
    { repo: example('check_run').repository.full_name as string },
  );
  beforeEach(async () => {
    await drainAndTruncate(20_000);
    ctx.github.reset();
    ctx.codegen.reset();
    ctx.github.setPullRequest(ctx.repo, PR, { headSha: SHA });
  });
  return ctx;
}

/** Waits for the one agent run of this test, ends it, and waits for its trigger to finish. */
async function agentRunOf(ctx: ReturnType<typeof stack>) {
  await waitFor(async () => ctx.codegen.createdRuns.length === 1, {
    what: 'an agent run',
    timeoutMs: 20_000,
  });
  const [run] = ctx.codegen.createdRuns;
  ctx.codegen.completeRun(run.id, { status: 'COMPLETE' });
  const [trigger] = await taskRows("task_type = 'codegen_trigger'");
  await finished(trigger.task_id);
  return run;
}

afterAll(async () => {
  await closeDb();
});

describe('include_cancelled_checks on (CHECK_INCLUDE_CANCELLED=true)', () => {
  const ctx = stack(true);

  it('a cancelled check run on a PR leads to an agent run', async () => {
    const res = await deliver(ctx.orch.url, 'check_run', completedCheckRun('cancelled'));
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({ status: 'queued', tasks_created: 1 });
    const analysis = await finished(res.body.result.task_ids[0]);
    expect(analysis.status).toBe('completed');
    expect(analysis.output_data).toMatchObject({
      shouldTriggerAgent: true,
      failedChecks: [{ name: 'unit tests', conclusion: 'cancelled', category: 'test' }],
    });
    const run = await agentRunOf(ctx);
    expect(run.prompt).toMatch(/unit tests/);
  });

  it('a cancelled check suite counts its cancelled runs and leads to an agent run', async () => {
    const suite = completedCheckSuite('cancelled');
    ctx.github.setCheckRuns(ctx.repo, suite.check_suite.id, [
      { name: 'lint (eslint)', conclusion: 'cancelled' },
      { name: 'docs', conclusion: 'success' },
      { name: 'needs approval', conclusion: 'action_required' },
    ]);
    const res = await deliver(ctx.orch.url, 'check_suite', suite);
    expect(res.body.result).toMatchObject({ status: 'queued', tasks_created: 1 });
    const analysis = await finished(res.body.result.task_ids[0]);
    expect(analysis.output_data).toMatchObject({
      runs_total: 3,
      failed_runs: 1,
      categories: ['lint'],
      shouldTriggerAgent: true,
    });
    const run = await agentRunOf(ctx);
    expect(run.prompt).toMatch(/lint \(eslint\)/);
    expect(run.prompt).not.toMatch(/needs approval/);
  });
});

describe('include_cancelled_checks off (the default)', () => {
  const ctx = stack(false);

  it('a cancelled check run is stored and ignored: no task, no agent run', async () => {
    const res = await deliver(ctx.orch.url, 'check_run', completedCheckRun('cancelled'));
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({
      status: 'ignored',
      reason: 'conclusion_not_failing:cancelled',
    });
    // A failed run delivered after it is handled in full, so the cancelled one had its chance.
    const failed = await deliver(ctx.orch.url, 'check_run', completedCheckRun('failure'));
    await finished(failed.body.result.task_ids[0]);
    await agentRunOf(ctx);
    expect(await taskRows("task_type = 'check_failure_analysis'")).toHaveLength(1);
  });

  it('a failed suite leaves its cancelled runs out of the analysis and the prompt', async () => {
    const suite = completedCheckSuite('failure');
    ctx.github.setCheckRuns(ctx.repo, suite.check_suite.id, [
      { name: 'build (tsc)', conclusion: 'failure' },
      { name: 'e2e tests', conclusion: 'cancelled' },
    ]);
    const res = await deliver(ctx.orch.url, 'check_suite', suite);
    const analysis = await finished(res.body.result.task_ids[0]);
    expect(analysis.output_data).toMatchObject({
      runs_total: 2,
      failed_runs: 1,
      categories: ['build'],
    });
    const run = await agentRunOf(ctx);
    expect(run.prompt).toMatch(/build \(tsc\)/);
    expect(run.prompt).not.toMatch(/e2e tests/);
  });

  it('a cancelled suite is ignored at intake', async () => {
    const res = await deliver(ctx.orch.url, 'check_suite', completedCheckSuite('cancelled'));
    expect(res.body.result).toMatchObject({
      status: 'ignored',
      reason: 'conclusion_not_failing:cancelled',
    });
    expect(await taskRows()).toHaveLength(0);
  });
});
