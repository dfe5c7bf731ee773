import { CodegenFake, GithubFake } from './fakes';
import {
  db,
  deliver,
  drainAndTruncate,
  example,
  RunningOrchestrator,
  taskRows,
  waitFor,
} from './support/harness';
import { Stack, startStack } from './support/stack';

/**
 * Agent run outcomes end to end: a failing check starts a run, and the deliveries that follow
 * (the agent's push, the checks on its commit, a human's push, the run's end, nothing at all)
 * judge it, with at most one follow-up run and one PR comment telling the story.
 */

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- rows are asserted field by field

const PR = 7;
const FAILING = 'a'.repeat(40);
const AGENT = 'b'.repeat(40);
const AGENT_AGAIN = 'c'.repeat(40);
const HUMAN = 'd'.repeat(40);
const FAILED_AT = '2026-12-01T10:00:00Z';
const AGENT_LOGIN = 'codegen-sh[bot]';

function checkRun(
  sha: string,
  conclusion: string,
  completedAt: string,
  prNumbers: number[] = [PR],
  id = 5151,
) {
  const payload = example('check_run', (p) => p.action === 'completed');
  payload.check_run.name = 'unit tests';
  payload.check_run.id = id;
  payload.check_run.conclusion = conclusion;
  payload.check_run.head_sha = sha;
  payload.check_run.completed_at = completedAt;
  payload.check_run.pull_requests = prNumbers.map((n) => ({
    url: `https://api.github.com/repos/${payload.repository.full_name}/pulls/${n}`,
    id: n,
    number: n,
    head: { ref: 'feature', sha, repo: payload.repository },
    base: { ref: 'main', sha: 'e'.repeat(40), repo: payload.repository },
  }));
  return payload;
}

function synchronize(after: string, pusher: { login: string; type: string }) {
  const payload = example('pull_request', (p) => p.action === 'synchronize');
  payload.repository = example('check_run').repository;
  payload.number = PR;
  payload.pull_request.number = PR;
  payload.pull_request.head.sha = after;
  payload.after = after;
  payload.sender = { ...payload.sender, login: pusher.login, type: pusher.type };
  return payload;
}

/** A `pull_request` delivery of the check run's repository (opened, labeled, …) for `number`. */
function pullRequestEvent(action: string, number: number, head: string, labels: string[] = []) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.action = action;
  payload.repository = example('check_run').repository;
  payload.number = number;
  payload.pull_request.number = number;
  payload.pull_request.head.sha = head;
  payload.pull_request.draft = false;
  payload.pull_request.head.repo = payload.repository;
  payload.pull_request.base.repo = payload.repository;
  payload.pull_request.author_association = 'FIRST_TIME_CONTRIBUTOR';
  payload.pull_request.labels = labels.map((name, i) => ({ id: i + 1, name }));
  return payload;
}

async function outcomes(): Promise<Row[]> {
  const { rows } = await db().query(`SELECT * FROM agent_run_outcomes ORDER BY id`);
  return rows;
}

async function outcomeOf(taskId: string, outcome: string): Promise<Row> {
  return waitFor(
    async () => {
      const { rows } = await db().query(
        `SELECT * FROM agent_run_outcomes WHERE task_id = $1 AND outcome = $2`,
        [taskId, outcome],
      );
      return rows[0] as Row | undefined;
    },
    { what: `outcome ${outcome} of ${taskId}`, timeoutMs: 20_000 },
  );
}

describe('agent run outcomes', () => {
  let github: GithubFake;
  let codegen: CodegenFake;
  let orch: RunningOrchestrator;
  let stack: Stack;
  let repo: string;

  beforeAll(async () => {
    stack = await startStack({
      prefix: `${process.env.TEST_QUEUE_PREFIX}_outcomes`,
      worker: {
        AGENT_OUTCOME_WINDOW: '1500ms',
        AGENT_MAX_RUNS_PER_PR_PER_DAY: '50',
        // Eight tests start about ten runs within a minute; Codegen's create limit is not tested here.
        CODEGEN_CREATE_LIMIT_PER_MINUTE: '1000',
      },
    });
    ({ github, codegen, orch } = stack);
    repo = example('check_run').repository.full_name;
  });

  afterAll(() => stack.stop());

  beforeEach(async () => {
    // A run a failed test left working ends, so the next test starts from a drained queue.
    for (const run of codegen.createdRuns)
      if (run.status !== 'COMPLETE' && run.status !== 'FAILED')
        codegen.completeRun(run.id, { status: 'COMPLETE' });
    await drainAndTruncate(30_000);
    github.reset();
    codegen.reset();
    github.setPullRequest(repo, PR, { headSha: FAILING, headRef: 'feature' });
    github.setPullRequestFiles(repo, PR, []);
  });

  /** A failing check on the PR head starts one agent run; returns it with its trigger task. */
  async function failingCheckStartsRun(): Promise<{ runId: number; taskId: string }> {
    const res = await deliver(orch.url, 'check_run', checkRun(FAILING, 'failure', FAILED_AT));
    expect(res.status).toBe(200);
    await waitFor(async () => codegen.createdRuns.length === 1, {
      what: 'the agent run',
      timeoutMs: 20_000,
    });
    const [trigger] = await taskRows("task_type = 'codegen_trigger'");
    await waitFor(async () => (await outcomes()).length === 1, { what: 'the pending outcome' });
    return { runId: codegen.createdRuns[0].id, taskId: trigger.task_id };
  }

  async function triggerEnded(taskId: string): Promise<void> {
    await waitFor(
      async () => {
        const [t] = await taskRows('task_id = $1', [taskId]);
        return t && ['completed', 'failed', 'cancelled'].includes(t.status);
      },
      { what: `trigger ${taskId} to end`, timeoutMs: 20_000 },
    );
  }

  /** The run's PR comment (a follow-up edits its first run's comment, which then names it). */
  function commentOf(taskId: string): string {
    const comment =
      github.comments.find((c) => c.body.includes(`task=${taskId}`)) ??
      github.comments.find((c) => c.issue === PR);
    return comment?.body ?? '';
  }

  it('the agent pushes, its commit passes the check: fixed, with the time to green, told in the one comment', async () => {
    const { runId, taskId } = await failingCheckStartsRun();
    expect((await outcomes())[0]).toMatchObject({
      outcome: 'pending',
      repository: repo.toLowerCase(),
      pr_number: PR,
      trigger_kind: 'check_failure',
      failing_checks: ['unit tests'],
      head_sha: FAILING,
      codegen_run_id: String(runId),
    });
    // The agent pushes while its run is still working: that is its work, not a newer head.
    github.setPullRequest(repo, PR, { headSha: AGENT, headRef: 'feature' });
    await deliver(
      orch.url,
      'pull_request',
      synchronize(AGENT, { login: AGENT_LOGIN, type: 'Bot' }),
    );
    await waitFor(async () => (await outcomes())[0]?.agent_head_sha === AGENT, {
      what: 'the agent commit recorded',
    });
    codegen.completeRun(runId, { status: 'COMPLETE' });
    await triggerEnded(taskId);
    const [trigger] = await taskRows('task_id = $1', [taskId]);
    expect(trigger.status).toBe('completed');
    expect(codegen.createdRuns[0].removedFromPr).toBe(0);

    await deliver(orch.url, 'check_run', checkRun(AGENT, 'success', '2026-12-01T10:14:00Z'));
    const fixed = await outcomeOf(taskId, 'fixed');
    expect(fixed).toMatchObject({ time_to_green_seconds: 840, judged_sha: AGENT });
    expect(fixed.finished_at).not.toBeNull();
    await waitFor(async () => commentOf(taskId).includes('Fixed in 14 min'), {
      what: 'the comment to say fixed',
    });
    expect(github.comments.filter((c) => c.issue === PR)).toHaveLength(1);
    expect(commentOf(taskId)).toMatch(/finished\./);
    expect(codegen.createdRuns).toHaveLength(1);
  });

  it('the agent commit fails again: exactly one follow-up, then a human is asked for and no third run starts', async () => {
    const first = await failingCheckStartsRun();
    github.setPullRequest(repo, PR, { headSha: AGENT, headRef: 'feature' });
    // The agent's commit names a human author: the bot guard would not stop a second run, the
    // run's outcome does.
    github.setCommit(repo, AGENT, { authorLogin: 'alice', authorType: 'User' });
    github.setCheckRunDetails(repo, 6161, {
      title: 'unit tests failed',
      summary: 'expected 2, got 3 in sum.spec.ts',
    });
    await deliver(
      orch.url,
      'pull_request',
      synchronize(AGENT, { login: AGENT_LOGIN, type: 'Bot' }),
    );
    codegen.completeRun(first.runId, { status: 'COMPLETE' });
    await triggerEnded(first.taskId);
    await deliver(
      orch.url,
      'check_run',
      checkRun(AGENT, 'failure', '2026-12-01T10:20:00Z', [PR], 6161),
    );
    await outcomeOf(first.taskId, 'still_failing');
    await waitFor(async () => codegen.createdRuns.length === 2, {
      what: 'the follow-up run',
      timeoutMs: 20_000,
    });
    const followUp = codegen.createdRuns[1];
    // The new failure's own output, inside the untrusted-data blocks, and the previous run.
    expect(followUp.prompt).toContain('expected 2, got 3 in sum.spec.ts');
    expect(followUp.prompt).toMatch(
      new RegExp(`Follow-up: an earlier agent run ${first.runId}\\b`),
    );
    const [second] = await taskRows(
      "task_type = 'codegen_trigger' AND input_data->>'follow_up_of' = $1",
      [first.taskId],
    );
    await waitFor(async () => (await outcomes()).length === 2, { what: 'the follow-up outcome' });
    expect((await outcomes())[1]).toMatchObject({
      task_id: second.task_id,
      follow_up_of: first.taskId,
      follow_up_count: 1,
      head_sha: AGENT,
    });
    // The regular analysis of the agent's failing commit started nothing: the outcome owns it.
    const regular = await waitFor(
      async () =>
        (
          await taskRows(
            "task_type = 'codegen_trigger' AND commit_sha = $1 AND input_data->>'follow_up_of' IS NULL",
            [AGENT],
          )
        )[0],
      { what: 'the regular trigger of the failing agent commit' },
    );
    await waitFor(
      async () => (await taskRows('task_id = $1', [regular.task_id]))[0]?.status === 'cancelled',
      { what: 'the regular trigger refused' },
    );
    expect((await taskRows('task_id = $1', [regular.task_id]))[0].error_message).toMatch(
      /pushed by agent run task/,
    );
    expect(codegen.createdRuns).toHaveLength(2);

    github.setPullRequest(repo, PR, { headSha: AGENT_AGAIN, headRef: 'feature' });
    github.setCommit(repo, AGENT_AGAIN, { authorLogin: AGENT_LOGIN, authorType: 'Bot' });
    await deliver(
      orch.url,
      'pull_request',
      synchronize(AGENT_AGAIN, { login: AGENT_LOGIN, type: 'Bot' }),
    );
    codegen.completeRun(followUp.id, { status: 'COMPLETE' });
    await triggerEnded(second.task_id);
    await deliver(
      orch.url,
      'check_run',
      checkRun(AGENT_AGAIN, 'failure', '2026-12-01T10:40:00Z', [PR], 7171),
    );
    await outcomeOf(second.task_id, 'still_failing');
    await waitFor(async () => commentOf(first.taskId).includes('needs a human'), {
      what: 'the comment to ask for a human',
    });
    await waitFor(
      async () => (await taskRows("status IN ('pending', 'queued', 'running')")).length === 0,
      { what: 'everything to settle', timeoutMs: 20_000 },
    );
    expect(codegen.createdRuns).toHaveLength(2);
    // One comment, edited in place through both runs.
    expect(github.comments.filter((c) => c.issue === PR)).toHaveLength(1);
    expect(commentOf(first.taskId)).toContain(`Agent run ${first.runId}: ❌ Still failing`);
  });

  it('a human pushes before the agent commit is judged: superseded', async () => {
    const { taskId } = await failingCheckStartsRun();
    github.setPullRequest(repo, PR, { headSha: HUMAN, headRef: 'feature' });
    await deliver(orch.url, 'pull_request', synchronize(HUMAN, { login: 'alice', type: 'User' }));
    const superseded = await outcomeOf(taskId, 'superseded');
    expect(superseded.judged_sha).toBe(HUMAN);
    // A later success on the human's commit changes nothing.
    await deliver(orch.url, 'check_run', checkRun(HUMAN, 'success', '2026-12-01T10:30:00Z'));
    await waitFor(
      async () => (await taskRows("status IN ('pending', 'queued', 'running')")).length === 0,
      { what: 'everything to settle', timeoutMs: 20_000 },
    );
    expect((await outcomes())[0]).toMatchObject({ outcome: 'superseded', judged_sha: HUMAN });
  });

  it('the run ends and the agent pushes nothing: no_change after the window', async () => {
    const { runId, taskId } = await failingCheckStartsRun();
    codegen.completeRun(runId, { status: 'COMPLETE' });
    await triggerEnded(taskId);
    const quiet = await outcomeOf(taskId, 'no_change');
    expect(
      new Date(quiet.judged_at).getTime() - new Date(quiet.finished_at).getTime(),
    ).toBeGreaterThanOrEqual(1500);
    await waitFor(async () => commentOf(taskId).includes('No change'), {
      what: 'the comment to say no change',
    });
  });

  it('the run ends without success: run_failed', async () => {
    const { runId, taskId } = await failingCheckStartsRun();
    codegen.completeRun(runId, { status: 'FAILED' });
    await outcomeOf(taskId, 'run_failed');
  });

  it('the agent opens its own pull request and it goes green: fixed', async () => {
    const { runId, taskId } = await failingCheckStartsRun();
    codegen.completeRun(runId, {
      status: 'COMPLETE',
      pullRequests: [{ url: `https://github.com/${repo}/pull/12`, title: 'Fix unit tests' }],
    });
    await waitFor(async () => (await outcomes())[0]?.agent_pr_numbers?.includes(12), {
      what: 'the agent pull request recorded',
      timeoutMs: 20_000,
    });
    const agentPrHead = 'f'.repeat(40);
    await deliver(
      orch.url,
      'check_run',
      checkRun(agentPrHead, 'success', '2026-12-01T10:05:00Z', [12]),
    );
    const fixed = await outcomeOf(taskId, 'fixed');
    expect(fixed).toMatchObject({ judged_sha: agentPrHead, time_to_green_seconds: 300 });
  });

  it('out of order and redelivered: the success before the synchronize judges the right run, once', async () => {
    const { runId, taskId } = await failingCheckStartsRun();
    const success = checkRun(AGENT, 'success', '2026-12-01T10:10:00Z');
    await deliver(orch.url, 'check_run', success);
    await waitFor(async () => (await outcomes())[0]?.observations?.length === 1, {
      what: 'the early success kept',
    });
    expect((await outcomes())[0].outcome).toBe('pending');
    await deliver(
      orch.url,
      'pull_request',
      synchronize(AGENT, { login: AGENT_LOGIN, type: 'Bot' }),
    );
    const fixed = await outcomeOf(taskId, 'fixed');
    expect(fixed.time_to_green_seconds).toBe(600);
    // GitHub redelivers the success and the synchronize (new attempts of the same events).
    await deliver(orch.url, 'check_run', success);
    await deliver(
      orch.url,
      'pull_request',
      synchronize(AGENT, { login: AGENT_LOGIN, type: 'Bot' }),
    );
    codegen.completeRun(runId, { status: 'COMPLETE' });
    await triggerEnded(taskId);
    await waitFor(
      async () => (await taskRows("status IN ('pending', 'queued', 'running')")).length === 0,
      { what: 'everything to settle', timeoutMs: 20_000 },
    );
    const [after] = await outcomes();
    expect(after).toMatchObject({ outcome: 'fixed', time_to_green_seconds: 600 });
    expect(new Date(after.judged_at).toISOString()).toBe(new Date(fixed.judged_at).toISOString());
  });

  it("the agent's new pull request fails before Codegen reports it: still_failing at the run's end, and its one follow-up starts there", async () => {
    const { runId, taskId } = await failingCheckStartsRun();
    const agentPrHead = 'f'.repeat(40);
    github.setPullRequest(repo, 12, {
      headSha: agentPrHead,
      headRef: 'codegen-fix-unit-tests',
      authorLogin: AGENT_LOGIN,
      authorType: 'Bot',
    });
    github.setCommit(repo, agentPrHead, { authorLogin: AGENT_LOGIN, authorType: 'Bot' });
    github.setCheckRunDetails(repo, 8181, {
      title: 'unit tests failed',
      summary: 'sum.spec.ts still expects 2',
    });
    // The agent's pull request is checked while the run still works: Codegen has not said yet
    // that #12 is the agent's, so the result is kept, not judged and not dropped.
    const early = await deliver(
      orch.url,
      'check_run',
      checkRun(agentPrHead, 'failure', '2026-12-01T10:12:00Z', [12], 8181),
    );
    expect(early.status).toBe(200);
    await waitFor(async () => (await outcomes())[0]?.observations?.length === 1, {
      what: 'the early failure kept',
    });
    expect((await outcomes())[0].outcome).toBe('pending');
    expect(codegen.createdRuns).toHaveLength(1);

    codegen.completeRun(runId, {
      status: 'COMPLETE',
      pullRequests: [{ url: `https://github.com/${repo}/pull/12`, title: 'Fix unit tests' }],
    });
    const judged = await outcomeOf(taskId, 'still_failing');
    expect(judged).toMatchObject({ judged_sha: agentPrHead, failed_again: ['unit tests'] });
    await waitFor(async () => codegen.createdRuns.length === 2, {
      what: 'the follow-up run',
      timeoutMs: 20_000,
    });
    expect(codegen.createdRuns[1].prompt).toContain('sum.spec.ts still expects 2');
    const followUps = await taskRows(
      "task_type = 'codegen_trigger' AND input_data->>'follow_up_of' = $1",
      [taskId],
    );
    expect(followUps).toHaveLength(1);
    expect(followUps[0]).toMatchObject({ pr_number: 12, commit_sha: agentPrHead });
    await waitFor(async () => (await outcomes()).length === 2, { what: 'the follow-up outcome' });
    await waitFor(
      async () =>
        commentOf(taskId).includes(`Agent run ${runId}: ❌ Still failing`) &&
        commentOf(taskId).includes('A follow-up agent run was asked for'),
      { what: 'the comment to tell the follow-up' },
    );
    // The regular analysis of the failing agent commit starts nothing of its own.
    await waitFor(
      async () =>
        (await taskRows("status IN ('pending', 'queued') AND task_type = 'codegen_trigger'"))
          .length === 0,
      { what: 'the triggers to settle', timeoutMs: 20_000 },
    );
    expect(codegen.createdRuns).toHaveLength(2);
    expect(commentOf(taskId)).not.toContain('needs a human');
  });

  it("the agent's commit fails while its run still works: the run's end keeps telling the follow-up that was asked for", async () => {
    const first = await failingCheckStartsRun();
    github.setPullRequest(repo, PR, { headSha: AGENT, headRef: 'feature' });
    await deliver(
      orch.url,
      'pull_request',
      synchronize(AGENT, { login: AGENT_LOGIN, type: 'Bot' }),
    );
    await waitFor(async () => (await outcomes())[0]?.agent_head_sha === AGENT, {
      what: 'the agent commit recorded',
    });
    await deliver(
      orch.url,
      'check_run',
      checkRun(AGENT, 'failure', '2026-12-01T10:20:00Z', [PR], 6363),
    );
    await outcomeOf(first.taskId, 'still_failing');
    await waitFor(async () => codegen.createdRuns.length === 2, {
      what: 'the follow-up run',
      timeoutMs: 20_000,
    });
    const [second] = await taskRows(
      "task_type = 'codegen_trigger' AND input_data->>'follow_up_of' = $1",
      [first.taskId],
    );
    // The follow-up took over the one comment; then the first run ends and edits it again.
    await waitFor(
      async () => github.comments.some((c) => c.body.includes(`task=${second.task_id}`)),
      {
        what: "the follow-up's comment",
      },
    );
    codegen.completeRun(first.runId, { status: 'COMPLETE' });
    await triggerEnded(first.taskId);
    const ended = await waitFor(
      async () =>
        github.comments.find(
          (c) => c.body.includes(`task=${first.taskId}`) && c.body.includes('finished.'),
        )?.body,
      { what: "the first run's end told" },
    );
    expect(ended).toContain('Still failing: unit tests');
    expect(ended).toContain('A follow-up agent run was asked for.');
    expect(ended).not.toContain('needs a human');
    expect(codegen.createdRuns).toHaveLength(2);
  });

  it('a follow-up refused by a budget: the comment says the agent could not fix it, a human is needed, and why', async () => {
    const first = await failingCheckStartsRun();
    github.setPullRequest(repo, PR, { headSha: AGENT, headRef: 'feature' });
    await deliver(
      orch.url,
      'pull_request',
      synchronize(AGENT, { login: AGENT_LOGIN, type: 'Bot' }),
    );
    codegen.completeRun(first.runId, { status: 'COMPLETE' });
    await triggerEnded(first.taskId);
    // The pull request has spent its runaway guard (AGENT_MAX_RUNS_PER_PR_PER_DAY=50) today.
    await db().query(
      `INSERT INTO workflow_tasks (task_id, task_type, status, repository, pr_number, codegen_task_id)
       SELECT gen_random_uuid(), 'codegen_trigger', 'completed', $1, $2, 'earlier-' || n
       FROM generate_series(1, 49) AS n`,
      [repo, PR],
    );
    await deliver(
      orch.url,
      'check_run',
      checkRun(AGENT, 'failure', '2026-12-01T10:20:00Z', [PR], 6262),
    );
    await outcomeOf(first.taskId, 'still_failing');
    const followUp = await waitFor(
      async () =>
        (
          await taskRows(
            "task_type = 'codegen_trigger' AND input_data->>'follow_up_of' = $1 AND status = 'cancelled'",
            [first.taskId],
          )
        )[0],
      { what: 'the follow-up refused', timeoutMs: 20_000 },
    );
    expect(followUp.error_message).toMatch(/^budget: pull request/);
    await waitFor(async () => commentOf(first.taskId).includes('needs a human'), {
      what: 'the comment to ask for a human',
    });
    const comment = commentOf(first.taskId);
    expect(comment).toMatch(
      /Still failing: unit tests on `b{12}`\. The agent could not fix it and no follow-up run started \(budget: pull request \(50 agent run\(s\) for this pull request in 24 hours.*runaway guard\)\): needs a human\./,
    );
    expect(comment).not.toContain('was asked for');
    expect(codegen.createdRuns).toHaveLength(1);
  });

  it("a failure the pull request's analysis starts a run for (the opt-in label releasing it) gets its outcome; a review run gets none", async () => {
    // An outside contributor's pull request: the trust gate holds the failing check's run back.
    github.setPullRequest(repo, PR, {
      headSha: FAILING,
      headRef: 'feature',
      authorAssociation: 'FIRST_TIME_CONTRIBUTOR',
    });
    await deliver(orch.url, 'check_run', checkRun(FAILING, 'failure', FAILED_AT));
    const held = await waitFor(
      async () =>
        (await taskRows("task_type = 'codegen_trigger' AND status = 'cancelled'"))[0] as
          Row | undefined,
      { what: 'the trigger held back', timeoutMs: 20_000 },
    );
    expect(held.error_message).toMatch(/^untrusted:/);
    expect(await outcomes()).toHaveLength(0);

    // A maintainer adds the opt-in label: the pull request's analysis releases the held run.
    github.setPullRequest(repo, PR, {
      headSha: FAILING,
      headRef: 'feature',
      authorAssociation: 'FIRST_TIME_CONTRIBUTOR',
      labels: ['agent:allow'],
    });
    const label = pullRequestEvent('labeled', PR, FAILING, ['agent:allow']);
    label.label = { id: 99, name: 'agent:allow', color: 'ededed', default: false };
    expect((await deliver(orch.url, 'pull_request', label)).status).toBe(200);
    await waitFor(async () => codegen.createdRuns.length === 1, {
      what: 'the released run',
      timeoutMs: 20_000,
    });
    await waitFor(async () => (await outcomes()).length === 1, { what: 'the pending outcome' });
    expect((await outcomes())[0]).toMatchObject({
      task_id: held.task_id,
      outcome: 'pending',
      trigger_kind: 'check_failure',
      failing_checks: ['unit tests'],
      head_sha: FAILING,
      failing_check_completed_at: new Date(FAILED_AT),
    });
    github.setPullRequest(repo, PR, {
      headSha: AGENT,
      headRef: 'feature',
      authorAssociation: 'FIRST_TIME_CONTRIBUTOR',
      labels: ['agent:allow'],
    });
    await deliver(
      orch.url,
      'pull_request',
      synchronize(AGENT, { login: AGENT_LOGIN, type: 'Bot' }),
    );
    await waitFor(async () => (await outcomes())[0]?.agent_head_sha === AGENT, {
      what: 'the agent commit recorded',
    });
    await deliver(orch.url, 'check_run', checkRun(AGENT, 'success', '2026-12-01T10:09:00Z'));
    expect(await outcomeOf(held.task_id, 'fixed')).toMatchObject({ time_to_green_seconds: 540 });

    // A review of a new pull request targets no failure: its run gets no outcome.
    const reviewed = 8;
    const head = '1'.repeat(40);
    github.setPullRequest(repo, reviewed, { headSha: head, headRef: 'review-me' });
    github.setPullRequestFiles(repo, reviewed, [
      { filename: 'src/a.ts', status: 'modified', additions: 3, deletions: 1 },
    ]);
    const opened = pullRequestEvent('opened', reviewed, head);
    opened.pull_request.author_association = 'MEMBER';
    await deliver(orch.url, 'pull_request', opened);
    await waitFor(async () => codegen.createdRuns.length === 2, {
      what: 'the review run',
      timeoutMs: 20_000,
    });
    await waitFor(
      async () =>
        (
          await taskRows(
            "task_type = 'codegen_trigger' AND pr_number = $1 AND output_data->>'agent_run_id' IS NOT NULL",
            [reviewed],
          )
        ).length === 1,
      { what: 'the review run followed' },
    );
    expect(await outcomes()).toHaveLength(1);
  });

  it('checks on commits no agent run touched create nothing and start no run', async () => {
    const { runId, taskId } = await failingCheckStartsRun();
    // While the run works, another check name is nothing to it.
    const lint = checkRun('9'.repeat(40), 'success', '2026-12-01T10:10:00Z', [99]);
    lint.check_run.name = 'lint';
    expect((await deliver(orch.url, 'check_run', lint)).body.result).toMatchObject({
      status: 'ignored',
    });
    // Once the run has reported its pull requests, another pull request's check is not its own.
    codegen.completeRun(runId, {
      status: 'COMPLETE',
      pullRequests: [{ url: `https://github.com/${repo}/pull/12`, title: 'Fix unit tests' }],
    });
    await waitFor(async () => (await outcomes())[0]?.agent_pr_numbers?.includes(12), {
      what: 'the agent pull request recorded',
      timeoutMs: 20_000,
    });
    const before = await taskRows();
    const other = await deliver(
      orch.url,
      'check_run',
      checkRun('9'.repeat(40), 'success', '2026-12-01T10:10:00Z', [99]),
    );
    expect(other.body.result).toMatchObject({ status: 'ignored' });
    const none = await deliver(
      orch.url,
      'check_run',
      checkRun('8'.repeat(40), 'success', '2026-12-01T10:10:00Z', []),
    );
    expect(none.body.result).toMatchObject({ status: 'ignored' });
    expect(await taskRows()).toHaveLength(before.length);
    expect((await outcomes())[0]).toMatchObject({
      task_id: taskId,
      outcome: 'pending',
      observations: [],
    });
    expect(codegen.createdRuns).toHaveLength(1);
  });
});
