import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPOSITORY_RULES_PATH } from '@app/domain';
import { mintAccessToken } from '../apps/orchestrator/src/auth/access-token';
import { Role } from '../apps/orchestrator/src/auth/role';
import { CodegenFake, GithubFake } from './fakes';
import { exampleRepositories } from './support/example-repositories';
import {
  deliver,
  drainAndTruncate,
  example,
  finished,
  RunningOrchestrator,
  RunningWorker,
  taskRows,
  testEnv,
  waitFor,
} from './support/harness';
import { listenerUrl } from './support/observability';
import { Stack, startStack } from './support/stack';

/**
 * A repository's own `.github/webhook-orchestrator.yml` decides behaviour, not only the dry run:
 * intake routes by the server's rules (it never calls GitHub), and the worker applies what the
 * file narrowed — `events`, `push_branches`, `include_cancelled_checks` — ending the analysis
 * with the rule and its source, so no agent run starts. What the server turned off stays off.
 * Also: the file's trust_label: false holds against a label event the server routes; check and
 * suite failures pass the same trust gate as pull requests; the per-author budget
 * (AGENT_MAX_RUNS_PER_AUTHOR_PER_DAY) end to end.
 */

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- rows are asserted field by field

const SHA = 'c'.repeat(40);
const PR = 7;
/** A repository whose server rules are strict; its own file tries to widen them. */
const STRICT = 'octo/strict';
const FILE = `its ${REPOSITORY_RULES_PATH}`;

const rulesDir = mkdtempSync(join(tmpdir(), 'repository-rules-'));
const rulesFile = join(rulesDir, 'rules.yml');
writeFileSync(
  rulesFile,
  `repositories:
  - match: "Codertocat/*"
    push_branches: [master, release]
    include_cancelled_checks: true
  - match: "${STRICT}"
    push_branches: [master]
    include_cancelled_checks: false
    agent_runs: false
`,
);

/** Example payloads moved to `repo` (the base repository and the head's, as GitHub sends). */
function inRepo<T extends Row>(payload: T, repo: string | undefined): T {
  if (repo) payload.repository.full_name = repo;
  return payload;
}

function push(branch: string, repo?: string) {
  const payload = example('push', (p) => p.ref === 'refs/heads/master' && !p.deleted);
  payload.ref = `refs/heads/${branch}`;
  // A distinct commit per push: the same body under a new delivery id is a replay (409).
  payload.after = randomUUID().replace(/-/g, '').padEnd(40, 'e');
  return inRepo(payload, repo);
}

function checkRun(conclusion: string, repo?: string) {
  const payload = inRepo(
    example('check_run', (p) => p.action === 'completed'),
    repo,
  );
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
      base: { ref: 'master', sha: 'd'.repeat(40), repo: payload.repository },
    },
  ];
  return payload;
}

function checkSuite(conclusion: string) {
  const payload = example('check_suite', (p) => p.action === 'completed');
  payload.check_suite.conclusion = conclusion;
  payload.check_suite.head_sha = SHA;
  payload.check_suite.pull_requests = [
    {
      number: PR,
      head: { ref: 'feature', sha: SHA },
      base: { ref: 'master', sha: 'd'.repeat(40) },
    },
  ];
  return payload;
}

function pullRequest(number: number, repo?: string, association = 'MEMBER') {
  const payload = inRepo(
    example('pull_request', (p) => p.action === 'opened'),
    repo,
  );
  const name = payload.repository.full_name as string;
  payload.pull_request.number = number;
  payload.number = number;
  payload.pull_request.head.sha = SHA;
  payload.pull_request.draft = false;
  payload.pull_request.author_association = association;
  payload.pull_request.base.repo.full_name = name;
  payload.pull_request.head.repo.full_name = name;
  return payload;
}

describe("a repository's own rules file, applied", () => {
  let github: GithubFake;
  let codegen: CodegenFake;
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  const repo = example('pull_request').repository.full_name as string;
  let stack: Stack;
  // Both apps read the same server rules and budgets, as a deployment runs them.
  const shared = { RULES_FILE: rulesFile, AGENT_MAX_RUNS_PER_AUTHOR_PER_DAY: '2' };
  const viewer = () =>
    mintAccessToken(testEnv().SECRET_KEY as string, { sub: 'vera', role: Role.Viewer }, 600);

  beforeAll(async () => {
    stack = await startStack({
      prefix: `${process.env.TEST_QUEUE_PREFIX}_repofile`,
      env: shared,
      codegen: { repositories: [...exampleRepositories(), STRICT] },
      worker: { CODEGEN_CREATE_LIMIT_PER_MINUTE: '1000', AGENT_MAX_RUNS_PER_PR_PER_DAY: '50' },
    });
    ({ github, codegen, orch, worker } = stack);
  });
  afterAll(async () => {
    await stack.stop();
    rmSync(rulesDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await drainAndTruncate(20_000);
    github.reset();
    codegen.reset();
    codegen.setAutoComplete(1);
    for (const name of [repo, STRICT])
      for (const n of [PR, 8, 9, 10]) {
        github.setPullRequest(name, n, {
          headSha: SHA,
          authorAssociation: 'MEMBER',
          authorLogin: n === 10 ? 'hubot' : 'mona',
        });
        github.setPullRequestFiles(name, n, [{ filename: 'src/app.ts' }]);
      }
  });

  it('push_branches narrowed by the file: a push to an excluded branch starts nothing', async () => {
    github.setRepositoryFile(repo, REPOSITORY_RULES_PATH, 'push_branches: [master]\n', 'master');

    const excluded = await deliver(orch.url, 'push', push('release'));
    // Intake routes by the server's rules, which allow release.
    expect(excluded.body.result.status).toBe('queued');
    const skipped = await finished(excluded.body.result.task_id);
    expect(skipped).toMatchObject({
      status: 'cancelled',
      error_message: `push_branches: pushes to release are not analysed for this repository (only master, set by ${FILE})`,
    });
    expect(skipped.output_data).toMatchObject({ skipped: true });

    const kept = await finished(
      (await deliver(orch.url, 'push', push('master'))).body.result.task_id,
    );
    expect(kept.status).toBe('completed');
    expect(kept.output_data.branch).toBe('master');
    // Read at the default branch, once: the second push used the stored read.
    const reads = github.requests.filter((r) => r.path.includes('/contents/'));
    expect(reads.map((r) => r.path)).toEqual([
      `/repos/${repo}/contents/.github/webhook-orchestrator.yml?ref=master`,
    ]);

    // The dry run says what the worker will do with such a push, and with one it keeps.
    const dryRun = async (branch: string) => {
      const res = await fetch(`${orch.url}/api/v1/rules/dry-run`, {
        method: 'POST',
        headers: { authorization: `Bearer ${viewer()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ event_type: 'push', payload: push(branch) }),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as Row;
    };
    expect((await dryRun('release')).tasks).toEqual([
      expect.objectContaining({
        task_type: 'push_analysis',
        branch: 'release',
        skip_reason: skipped.error_message,
      }),
    ]);
    expect((await dryRun('master')).tasks[0].skip_reason).toBeNull();
  });

  it('GitHub failing the read: the push is analysed under the server rules and says so', async () => {
    github.setRepositoryFile(repo, REPOSITORY_RULES_PATH, 'push_branches: [master]\n', 'master');
    // Every in-call try of the contents read fails (3 tries per attempt).
    github.failNext(3, { status: 502 });
    const res = await deliver(orch.url, 'push', push('release'));
    const task = await finished(res.body.result.task_id);
    expect(task).toMatchObject({ status: 'completed', retry_count: 0 });
    expect(task.output_data.repository_rules_unreadable).toMatch(/502/);
    // Nothing was stored: the next push reads the file and follows it.
    const next = await finished(
      (await deliver(orch.url, 'push', push('release'))).body.result.task_id,
    );
    expect(next.status).toBe('cancelled');
    expect(next.error_message).toMatch(/^push_branches: pushes to release are not analysed/);
  });

  it('events narrowed by the file: a failed check suite is not analysed and starts no run', async () => {
    github.setRepositoryFile(
      repo,
      REPOSITORY_RULES_PATH,
      'events: [pull_request, check_run, push]\n',
      'master',
    );
    const res = await deliver(orch.url, 'check_suite', checkSuite('failure'));
    expect(res.body.result.status).toBe('queued');
    const analysis = await finished(res.body.result.task_ids[0]);
    expect(analysis).toMatchObject({
      status: 'cancelled',
      error_message: `events: check_suite events are turned off for this repository by ${FILE}`,
    });
    expect(await taskRows("task_type = 'codegen_trigger'")).toHaveLength(0);
    expect(codegen.createdRuns).toHaveLength(0);
    // The suite's runs were never read.
    expect(github.requests.some((r) => r.path.includes('/check-runs'))).toBe(false);
  });

  it('include_cancelled_checks off in the file while the server has it on: a cancelled check starts no run', async () => {
    github.setRepositoryFile(
      repo,
      REPOSITORY_RULES_PATH,
      'include_cancelled_checks: false\n',
      'master',
    );
    const cancelled = await deliver(orch.url, 'check_run', checkRun('cancelled'));
    expect(cancelled.body.result).toMatchObject({ status: 'queued', tasks_created: 1 });
    const analysis = await finished(cancelled.body.result.task_ids[0]);
    expect(analysis).toMatchObject({
      status: 'cancelled',
      error_message: `include_cancelled_checks: cancelled checks are turned off for this repository by ${FILE}`,
    });
    expect(await taskRows("task_type = 'codegen_trigger'")).toHaveLength(0);

    // A suite that failed keeps its cancelled runs out of the analysis and the prompt.
    const suite = checkSuite('failure');
    github.setCheckRuns(repo, suite.check_suite.id, [
      { name: 'build (tsc)', conclusion: 'failure' },
      { name: 'e2e tests', conclusion: 'cancelled' },
    ]);
    const failed = await finished(
      (await deliver(orch.url, 'check_suite', suite)).body.result.task_ids[0],
    );
    expect(failed.output_data).toMatchObject({ runs_total: 2, failed_runs: 1 });
    const trigger = await finished(failed.output_data.child_task_ids[0]);
    expect(trigger.status).toBe('completed');
    expect(codegen.createdRuns).toHaveLength(1);
    expect(codegen.createdRuns[0].prompt).toMatch(/build \(tsc\)/);
    expect(codegen.createdRuns[0].prompt).not.toMatch(/e2e tests/);
  });

  it('the file cannot turn on what the server turned off', async () => {
    github.setRepositoryFile(
      STRICT,
      REPOSITORY_RULES_PATH,
      'include_cancelled_checks: true\npush_branches: [master, release]\nagent_runs: true\n',
      'master',
    );
    // The agent trigger reads the file; its refusal names the server's rule.
    const opened = await finished(
      (await deliver(orch.url, 'pull_request', pullRequest(PR, STRICT))).body.result.task_id,
    );
    expect(opened.status).toBe('completed');
    const trigger = await finished(opened.output_data.child_task_ids[0]);
    expect(trigger).toMatchObject({
      status: 'cancelled',
      error_message: 'agent runs are turned off for this repository by the workflow rules',
    });

    // Cancelled checks and other branches stay off, at intake as in the worker.
    const cancelled = await deliver(orch.url, 'check_run', checkRun('cancelled', STRICT));
    expect(cancelled.body.result).toMatchObject({
      status: 'ignored',
      reason: 'conclusion_not_failing:cancelled',
    });
    const release = await deliver(orch.url, 'push', push('release', STRICT));
    expect(release.body.result).toMatchObject({ status: 'ignored', reason: 'branch_not_in_rules' });
    expect(codegen.createdRuns).toHaveLength(0);

    // The dry run lists what the file tried to widen, and the server's values stand.
    const dry = await fetch(`${orch.url}/api/v1/rules/dry-run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event_type: 'push', payload: push('release', STRICT) }),
    });
    expect(dry.status).toBe(200);
    const body = (await dry.json()) as Row;
    expect(body.rules).toMatchObject({
      push_branches: ['master'],
      include_cancelled_checks: false,
      agent_runs: false,
    });
    expect(body.rule_sources).toMatchObject({
      push_branches: 'server file',
      include_cancelled_checks: 'server file',
      agent_runs: 'server file',
    });
    expect(body.repository_file.ignored).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^push_branches: release not allowed by the server/),
        expect.stringMatching(/^include_cancelled_checks: turned off by the server/),
        expect.stringMatching(/^agent_runs: turned off by the server/),
      ]),
    );
  });

  it('trust_label: false in the file: the opt-in label releases the held trigger, which the gate refuses again', async () => {
    github.setRepositoryFile(repo, REPOSITORY_RULES_PATH, 'trust_label: false\n', 'master');
    github.setPullRequest(repo, PR, { headSha: SHA, authorAssociation: 'NONE' });
    const opened = await finished(
      (await deliver(orch.url, 'pull_request', pullRequest(PR, undefined, 'NONE'))).body.result
        .task_id,
    );
    const trigger = await finished(opened.output_data.child_task_ids[0]);
    expect(trigger).toMatchObject({
      status: 'cancelled',
      error_message: 'untrusted: author association NONE',
    });

    // A maintainer adds the server's opt-in label: intake routes it (server rules), the held
    // trigger is released, and the gate, under the file's rules, still refuses it.
    github.setPullRequest(repo, PR, {
      headSha: SHA,
      authorAssociation: 'NONE',
      labels: ['agent:allow'],
    });
    const label = pullRequest(PR, undefined, 'NONE');
    label.action = 'labeled';
    label.pull_request.labels = [{ id: 1, name: 'agent:allow' }];
    label.label = { id: 1, name: 'agent:allow', color: 'ededed', default: false };
    const released = await finished(
      (await deliver(orch.url, 'pull_request', label)).body.result.task_id,
    );
    expect(released.output_data.released_task_ids).toEqual([trigger.task_id]);
    const again = await waitFor(
      async () => {
        const [t] = await taskRows('task_id = $1', [trigger.task_id]);
        return t.status === 'cancelled' && t.completed_at > trigger.completed_at ? t : null;
      },
      { what: 'the released trigger to end again' },
    );
    expect(again.error_message).toBe('untrusted: author association NONE');
    expect(codegen.createdRuns).toHaveLength(0);
  });

  it('check and suite failures pass the same gate: a fork pull request gets its analysis, no run', async () => {
    github.setPullRequest(repo, PR, {
      headSha: SHA,
      authorAssociation: 'CONTRIBUTOR',
      headRepository: 'stranger/Hello-World',
    });
    github.setPullRequest(repo, 8, { headSha: SHA, authorAssociation: 'FIRST_TIME_CONTRIBUTOR' });
    const run = await finished(
      (await deliver(orch.url, 'check_run', checkRun('failure'))).body.result.task_ids[0],
    );
    expect(run.status).toBe('completed');
    expect(run.output_data.shouldTriggerAgent).toBe(true);
    expect(await finished(run.output_data.child_task_ids[0])).toMatchObject({
      status: 'cancelled',
      error_message: 'untrusted: fork pull request',
    });

    const suite = checkSuite('failure');
    suite.check_suite.pull_requests[0].number = 8;
    github.setCheckRuns(repo, suite.check_suite.id, [
      { name: 'build (tsc)', conclusion: 'failure' },
    ]);
    const analysed = await finished(
      (await deliver(orch.url, 'check_suite', suite)).body.result.task_ids[0],
    );
    expect(analysed.status).toBe('completed');
    expect(await finished(analysed.output_data.child_task_ids[0])).toMatchObject({
      status: 'cancelled',
      error_message: 'untrusted: author association FIRST_TIME_CONTRIBUTOR',
    });
    expect(codegen.createdRuns).toHaveLength(0);
    expect(github.comments).toHaveLength(0);
  });

  it('over AGENT_MAX_RUNS_PER_AUTHOR_PER_DAY the trigger is cancelled, counted and shown', async () => {
    const triggers: Row[] = [];
    for (const n of [PR, 8, 9, 10]) {
      const analysis = await finished(
        (await deliver(orch.url, 'pull_request', pullRequest(n))).body.result.task_id,
      );
      triggers.push(await finished(analysis.output_data.child_task_ids[0]));
    }
    // mona: two runs, the third refused; hubot's own budget is untouched.
    expect(triggers.map((t) => t.status)).toEqual([
      'completed',
      'completed',
      'cancelled',
      'completed',
    ]);
    expect(triggers[2].error_message).toMatch(/^budget: author \(2 of 2 agent runs today/);
    expect(codegen.createdRuns).toHaveLength(3);

    const metrics = await (await fetch(`${listenerUrl(worker)}/metrics`)).text();
    expect(metrics).toMatch(/agent_runs_over_budget_total\{budget="author"[^}]*\} 1\b/);

    const res = await fetch(`${orch.url}/api/v1/agent-runs/budget`, {
      headers: { authorization: `Bearer ${viewer()}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      max_runs_per_author_per_day: 2,
      repositories: [
        {
          repository: repo.toLowerCase(),
          runs: 3,
          authors: expect.arrayContaining([
            { author: 'mona', runs: 2 },
            { author: 'hubot', runs: 1 },
          ]),
        },
      ],
    });
  });
});
