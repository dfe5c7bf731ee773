import { TaskType } from '@app/domain';
import { ExternalServiceError } from '@app/platform';
import { TaskLifecycleRepository } from '@app/persistence';
import { useWorkerTestBed } from '../../../../test/support/worker-test-bed';
import { storeEvent, TaskSeed } from '../../../../test/support/task-fixtures';
import { CheckFailureAnalysisHandler } from './check-failure-analysis.handler';
import { TaskContext } from './task-handler';

const bed = useWorkerTestBed({ githubToken: 'ghp_unit_checks' });
const { db } = bed;
const REPOSITORY = 'octo-org/app';
const HEAD = 'c'.repeat(40);
const CHECK_RUN_ID = 4242;

let handler: CheckFailureAnalysisHandler;
let lifecycle: TaskLifecycleRepository;

/** The handler as the worker builds it, with the real GitHub client pointed at the fake. */
function buildHandler(env: Record<string, string> = {}): CheckFailureAnalysisHandler {
  const config = bed.config(env);
  lifecycle = bed.lifecycle();
  const github = bed.github();
  return new CheckFailureAnalysisHandler(github, bed.logger, bed.repositoryRules(github, config));
}

beforeEach(() => {
  handler = buildHandler();
});

/** A check_failure_analysis task as the intake stores it, claimed for an attempt. */
async function analysis(
  input: Record<string, unknown> = {},
  seed: TaskSeed = {},
): Promise<TaskContext> {
  const { taskIds } = await storeEvent(db.dataSource, {
    eventType: 'check_run',
    repository: REPOSITORY,
    tasks: [
      {
        taskType: TaskType.CheckFailureAnalysis,
        repository: REPOSITORY,
        prNumber: 7,
        branch: 'feature',
        commitSha: HEAD,
        inputData: {
          action: 'completed',
          check_run_id: CHECK_RUN_ID,
          check_run_name: 'unit tests',
          conclusion: 'failure',
          details_url: 'https://ci.example/runs/1',
          head_sha: HEAD,
          ...input,
        },
        ...seed,
      },
    ],
  });
  const claim = await lifecycle.claimForRun(taskIds[0], 'unit-worker', 'analysis', 60_000);
  if (!claim) throw new Error('could not claim');
  return bed.context(claim);
}

describe('CheckFailureAnalysisHandler', () => {
  it("asks for one agent run for the failing test check's pull request, with the check's own words in the prompt", async () => {
    bed.githubFake.setCheckRunDetails(REPOSITORY, CHECK_RUN_ID, {
      name: 'unit tests',
      title: '2 tests failed',
      summary: 'expected 3, received 4',
      annotations: [
        { path: 'src/sum.ts', start_line: 3, annotation_level: 'failure', message: 'sum is off' },
      ],
    });
    const result = await handler.handle(await analysis());
    expect(result.cancel).toBeUndefined();
    expect(result.outputData).toMatchObject({
      pr_number: 7,
      check_name: 'unit tests',
      shouldTriggerAgent: true,
      categories: ['test'],
      annotations_fetched: 1,
    });
    expect(result.children).toHaveLength(1);
    const [child] = result.children!;
    expect(child).toMatchObject({
      taskType: TaskType.CodegenTrigger,
      dedupeKey: `${REPOSITORY}#7@${HEAD}:check_failure`,
      inputData: {
        trigger_kind: 'check_failure',
        push_target: 'head_branch',
        check_scope: 'check_run',
        failing_checks: ['unit tests'],
      },
    });
    const prompt = child.inputData.prompt as string;
    expect(prompt).toContain('unit tests');
    expect(prompt).toContain('2 tests failed');
    expect(prompt).toContain('sum is off');
  });

  it('still asks for a run when GitHub has no details for the check (404), with a prompt without them', async () => {
    const result = await handler.handle(await analysis());
    expect(result.children).toHaveLength(1);
    expect(result.outputData.annotations_fetched).toBeUndefined();
  });

  it('retries when reading the check details fails for a while (5xx)', async () => {
    bed.githubFake.failNext(3, {
      status: 502,
      route: 'GET /repos/{owner}/{repo}/check-runs/{check_run_id}',
    });
    const error: unknown = await handler.handle(await analysis()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as ExternalServiceError).transient).toBe(true);
  });

  it('asks for no run for a failing check that is not a test, lint or build check', async () => {
    const result = await handler.handle(await analysis({ check_run_name: 'Deploy preview' }));
    expect(result.outputData).toMatchObject({ shouldTriggerAgent: false });
    expect(result.children).toEqual([]);
  });

  it('finds the open pull requests of an unlinked commit (a fork) and asks for a run that opens a new pull request', async () => {
    bed.githubFake.setPullRequest(REPOSITORY, 12, {
      headSha: HEAD,
      headRef: 'patch-1',
      headRepository: 'stranger/app',
    });
    bed.githubFake.setPullRequestsForCommit(REPOSITORY, HEAD, [12]);
    const result = await handler.handle(await analysis({}, { prNumber: null, branch: null }));
    expect(result.outputData).toMatchObject({ pull_requests_found_by_sha: [12] });
    expect(result.children).toHaveLength(1);
    expect(result.children![0]).toMatchObject({
      prNumber: 12,
      dedupeKey: `${REPOSITORY}#12@${HEAD}:check_failure`,
      inputData: { push_target: 'new_pull_request' },
    });
  });

  it('asks for nothing when the unlinked commit heads no open pull request', async () => {
    bed.githubFake.setPullRequestsForCommit(REPOSITORY, HEAD, []);
    const result = await handler.handle(await analysis({}, { prNumber: null, branch: null }));
    expect(result.outputData).toMatchObject({ pull_requests_found_by_sha: [] });
    expect(result.children).toEqual([]);
  });

  it('cancels a cancelled check unless cancelled checks count as failing', async () => {
    const off = await handler.handle(await analysis({ conclusion: 'cancelled' }));
    expect(off.cancel).toMatch(/cancelled/);
    expect(off.outputData).toMatchObject({ skipped: true, reason: off.cancel });
    expect(off.children).toBeUndefined();
    handler = buildHandler({ CHECK_INCLUDE_CANCELLED: 'true' });
    const on = await handler.handle(await analysis({ conclusion: 'cancelled' }));
    expect(on.cancel).toBeUndefined();
    expect(on.children).toHaveLength(1);
  });
});
