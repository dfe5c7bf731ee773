import { CodegenFake, GithubFake } from '../../fakes';
import {
  CODEGEN_TOKEN,
  deliver,
  drainAndTruncate,
  example,
  finished,
  RunningOrchestrator,
  RunningWorker,
  waitFor,
} from '../../support/harness';
import { captureLogs, get, listenerUrl, sample, scrape } from '../../support/observability';
import { Stack, startStack } from '../../support/stack';

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
const FAILURE_STATUSES = [
  'FAILED',
  'ERROR',
  'CANCELLED',
  'STOPPED',
  'TIMEOUT',
  'MAX_ITERATIONS_REACHED',
  'OUT_OF_TOKENS',
];

function pullRequest(action: string, sha: string, number = 7) {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.action = action;
  payload.pull_request.number = number;
  payload.number = number;
  payload.pull_request.head.sha = sha;
  payload.pull_request.draft = false;
  return payload;
}

/**
 * The worker against the contract-faithful Codegen fake: every status of Codegen's published
 * list, lost and malformed answers, repo_id, 402 and 429, remove-from-pr.
 */
describe('agent runs against Codegen as published', () => {
  let github: GithubFake;
  let codegen: CodegenFake;
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  let repo: string;
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      prefix: `${process.env.TEST_QUEUE_PREFIX}_cgc`,
      worker: {
        CODEGEN_UNKNOWN_STATUS_GRACE_MS: '1000',
        CODEGEN_RECONCILE_GRACE_MS: '1500',
        // Every test sets the fake's repositories it wants seen.
        CODEGEN_REPO_CACHE_MS: '0',
        CODEGEN_CREATE_LIMIT_PER_MINUTE: '1000',
        AGENT_MAX_RUNS_PER_PR_PER_DAY: '1000',
      },
    });
    ({ github, codegen, orch, worker } = stack);
    repo = example('pull_request').repository.full_name;
  });
  afterAll(() => stack.stop());
  beforeEach(async () => {
    await drainAndTruncate(30_000);
    github.reset();
    codegen.reset();
    github.setPullRequest(repo, 7, { headSha: SHA_A });
    github.setPullRequestFiles(repo, 7, [{ filename: 'src/app.ts' }]);
  });
  afterEach(() => {
    // Every request the worker sent matched Codegen's published request schemas, and the fake
    // answered within them.
    expect(codegen.violations).toEqual([]);
    expect(codegen.answerViolations).toEqual([]);
  });

  /** Delivers a PR opening and returns its agent trigger's task id. */
  async function trigger(sha = SHA_A): Promise<string> {
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened', sha));
    const analysis = await finished(res.body.result.task_id);
    const id = analysis.output_data.child_task_ids?.[0];
    if (typeof id !== 'string') throw new Error('the analysis asked for no agent run');
    return id;
  }

  it.each(FAILURE_STATUSES)('a run ending %s fails its task at the first poll', async (status) => {
    codegen.scriptStatuses(['ACTIVE', status]);
    const done = await finished(await trigger());
    expect(done).toMatchObject({ status: 'failed', error_message: `agent run 1 ended ${status}` });
    expect(done.output_data.agent_run_status).toBe(status);
    expect(codegen.createdRuns[0].gets).toBe(1);
    expect(github.comments[0].body).toContain(`ended \`${status}\``);
  });

  it('a PAUSED run fails its task at once, saying it waits for input and where', async () => {
    codegen.scriptStatuses(['RUNNING', 'PAUSED']);
    const done = await finished(await trigger());
    expect(done.status).toBe('failed');
    expect(done.output_data.agent_run_status).toBe('PAUSED');
    expect(done.error_message).toContain('PAUSED');
    expect(done.error_message).toContain('waiting for input');
    expect(done.error_message).toContain(`${codegen.url}/agent/trace/1`);
    expect(codegen.createdRuns[0].gets).toBe(1);
    expect(github.comments[0].body).toContain('waiting for input');
  });

  it('a null status keeps polling, then a lower-case completed completes', async () => {
    codegen.scriptStatuses([null, null, 'evaluation', 'completed']);
    const done = await finished(await trigger());
    expect(done.status).toBe('completed');
    expect(done.output_data.agent_run_status).toBe('completed');
    expect(codegen.createdRuns[0].gets).toBe(3);
    expect(github.comments[0].body).toContain('finished');
  });

  it('an unknown status keeps polling, is logged once, and fails the task after the grace naming it', async () => {
    const logs = captureLogs(worker.app, 'warn');
    codegen.scriptStatuses(['ACTIVE', 'AWAITING_REVIEW']);
    const started = Date.now();
    const done = await finished(await trigger());
    expect(done.status).toBe('failed');
    expect(done.error_message).toContain('"AWAITING_REVIEW"');
    expect(done.output_data.agent_run_status).toBe('AWAITING_REVIEW');
    // It kept polling through the grace (1 s at 100–150 ms per poll).
    expect(codegen.createdRuns[0].gets).toBeGreaterThan(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const noted = logs.filter((l) =>
      String(l.message).includes('published contract; still polling'),
    );
    expect(noted).toHaveLength(1);
  });

  it('sends repo_id and metadata, and cancels the trigger for a repository Codegen does not know', async () => {
    codegen.scriptStatuses(['ACTIVE', 'COMPLETE']);
    const known = await finished(await trigger());
    expect(known.status).toBe('completed');
    expect(codegen.createdRuns[0].repoId).toBe(codegen.repositoryId(repo));
    expect(known.output_data.repo_id).toBe(codegen.repositoryId(repo));
    expect(codegen.createdRuns[0].metadata).toEqual({
      task_id: known.task_id,
      repository: repo,
      pr_number: 7,
      head_sha: SHA_A,
      trigger_kind: 'pull_request',
    });

    codegen.setRepositories(['someone/else']);
    github.setPullRequest(repo, 7, { headSha: SHA_B });
    const unknown = await finished(await trigger(SHA_B));
    expect(unknown.status).toBe('cancelled');
    expect(unknown.error_message).toMatch(/^Codegen does not know the repository /);
    expect(unknown.error_message).toContain(repo);
    expect(codegen.counters.create).toBe(1);
  });

  it('a create whose connection is cut after Codegen made the run ends with exactly one run and a completed task', async () => {
    codegen.cutNextCreate();
    codegen.setAutoComplete(1);
    const done = await finished(await trigger());
    expect(done).toMatchObject({ status: 'completed', codegen_task_id: '1' });
    expect(done.output_data.adopted).toBe(true);
    expect(codegen.createdRuns).toHaveLength(1);
    expect(codegen.counters.create).toBe(1);
    expect(codegen.counters.list).toBeGreaterThanOrEqual(1);
  });

  it('a 2xx create answer without a readable run never loses the run; the raw answer is logged scrubbed and bounded', async () => {
    const logs = captureLogs(worker.app, 'warn');
    codegen.failNext(1, {
      status: 200,
      route: 'create',
      afterCreate: true,
      body: `<html>Bearer ${CODEGEN_TOKEN} ${'x'.repeat(5000)}</html>`,
    });
    codegen.setAutoComplete(1);
    const done = await finished(await trigger());
    expect(done).toMatchObject({ status: 'completed', codegen_task_id: '1' });
    expect(codegen.createdRuns).toHaveLength(1);
    const bad = logs.find((l) => l.message === 'Codegen answer outside its published contract');
    expect(bad).toMatchObject({ operation: 'create_agent_run', http_status: 200 });
    const raw = String(bad?.raw_answer);
    expect(raw).not.toContain(CODEGEN_TOKEN);
    expect(raw.length).toBeLessThanOrEqual(2000);
  });

  it('a run answer with fields of the wrong type is kept, and the task says what was wrong', async () => {
    codegen.failNext(1, {
      status: 200,
      route: 'get',
      body: {
        id: 1,
        organization_id: 42,
        status: 'COMPLETE',
        github_pull_requests: 'none',
        summary: 3,
      },
    });
    const done = await finished(await trigger());
    expect(done.status).toBe('completed');
    expect(done.output_data.agent_run_answer_problems).toEqual([
      'body.github_pull_requests is not an array',
      'body.summary is not a string',
    ]);
  });

  it('an unreadable read keeps polling instead of failing', async () => {
    codegen.failNext(2, { status: 200, route: 'get', body: '{"id": 1, "status":' });
    codegen.setAutoComplete(1);
    const done = await finished(await trigger());
    expect(done.status).toBe('completed');
    expect(codegen.counters.get).toBe(3);
  });

  it('a 402 fails the trigger naming the plan limit, counts it, and degrades health until a create succeeds', async () => {
    codegen.setPlanLimitReached(true);
    const refused = await finished(await trigger());
    expect(refused.status).toBe('failed');
    expect(refused.error_message).toMatch(/billing plan's agent-run limit is used up/);
    expect(refused.retry_count).toBe(0);
    const metrics = await scrape(`${listenerUrl(worker)}/metrics`);
    expect(sample(metrics, 'codegen_plan_limit_refusals_total')).toBe(1);
    const degraded = await waitFor(async () => {
      const health = await get(`${orch.url}/health`);
      return health.body.checks?.codegen_api === 'degraded' ? health.body : null;
    });
    expect(degraded.details.codegen_api.degraded_reasons).toEqual(['plan_limit_reached']);

    codegen.setPlanLimitReached(false);
    codegen.setAutoComplete(1);
    github.setPullRequest(repo, 8, { headSha: SHA_B });
    github.setPullRequestFiles(repo, 8, [{ filename: 'src/b.ts' }]);
    const res = await deliver(orch.url, 'pull_request', pullRequest('opened', SHA_B, 8));
    const analysis = await finished(res.body.result.task_id);
    expect((await finished(analysis.output_data.child_task_ids[0])).status).toBe('completed');
    await waitFor(
      async () => (await get(`${orch.url}/health`)).body.checks?.codegen_api === 'healthy',
      {
        what: 'codegen_api healthy again',
      },
    );
  });

  it('a 429 on a read with a long Retry-After delays the next poll at least that long', async () => {
    codegen.failNext(1, { status: 429, route: 'get', retryAfterSeconds: 6 });
    codegen.setAutoComplete(1);
    const done = await finished(await trigger(), 30_000);
    expect(done.status).toBe('completed');
    const reads = codegen.requests.filter(
      (r) => r.method === 'GET' && /\/agent\/run\/\d+$/.test(r.path),
    );
    expect(reads).toHaveLength(2);
    expect(reads[1].at - reads[0].at).toBeGreaterThanOrEqual(5900);
  });

  it('an older synchronize delivered late does not stop the running run: GitHub still names its commit as the head', async () => {
    const triggerId = await trigger();
    await waitFor(async () => (codegen.createdRuns[0]?.gets ?? 0) >= 1, { what: 'first poll' });
    // Stored after the trigger, but GitHub's head is still the run's commit: an old event, late.
    await deliver(orch.url, 'pull_request', pullRequest('synchronize', SHA_B));
    await waitFor(async () => (codegen.createdRuns[0]?.gets ?? 0) >= 4, { what: 'more polls' });
    codegen.completeRun(codegen.createdRuns[0].id, { status: 'COMPLETE' });
    const done = await finished(triggerId);
    expect(done).toMatchObject({ status: 'completed', error_message: null });
    expect(codegen.createdRuns).toHaveLength(1);
    expect(codegen.createdRuns[0].removedFromPr).toBe(0);
  });

  it('a newer head stops a running run: remove-from-pr, recorded, cancelled, and the comment says so', async () => {
    const triggerId = await trigger();
    await waitFor(async () => (codegen.createdRuns[0]?.gets ?? 0) >= 1, { what: 'first poll' });
    github.setPullRequest(repo, 7, { headSha: SHA_B });
    github.setPullRequestFiles(repo, 7, [{ filename: 'README.md' }]);
    await deliver(orch.url, 'pull_request', pullRequest('synchronize', SHA_B));
    const done = await finished(triggerId);
    expect(done.status).toBe('cancelled');
    expect(done.error_message).toMatch(new RegExp(`^superseded by ${SHA_B}`));
    expect(done.output_data.agent_removed_from_pr).toMatchObject({
      ok: true,
      reason: 'superseded',
    });
    expect(codegen.createdRuns[0].removedFromPr).toBe(1);
    expect(github.comments[0].body).toContain('head moved on');
    expect(github.comments[0].body).toContain(
      'Codegen was told to stop working on this pull request',
    );
  });
});
