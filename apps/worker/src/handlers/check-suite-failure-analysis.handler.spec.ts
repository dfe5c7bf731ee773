import { TaskType } from '@app/domain';
import { DomainError } from '@app/platform';
import { TaskLifecycleRepository } from '@app/persistence';
import { useWorkerTestBed } from '../../../../test/support/worker-test-bed';
import { storeEvent, TaskSeed } from '../../../../test/support/task-fixtures';
import { CheckSuiteFailureAnalysisHandler } from './check-suite-failure-analysis.handler';
import { TaskContext } from './task-handler';

const bed = useWorkerTestBed({ githubToken: 'ghp_unit_suites' });
const { db } = bed;
const REPOSITORY = 'octo-org/app';
const HEAD = 'c'.repeat(40);
const SUITE_ID = 9001;

let handler: CheckSuiteFailureAnalysisHandler;
let lifecycle: TaskLifecycleRepository;

/** The handler as the worker builds it, with the real GitHub client pointed at the fake. */
function buildHandler(env: Record<string, string> = {}): CheckSuiteFailureAnalysisHandler {
  const config = bed.config(env);
  lifecycle = bed.lifecycle();
  const github = bed.github();
  return new CheckSuiteFailureAnalysisHandler(github, bed.logger, bed.repositoryRules(github, config));
}

beforeEach(() => {
  handler = buildHandler();
});

/** A check_suite_failure_analysis task as the intake stores it, claimed for an attempt. */
async function analysis(
  input: Record<string, unknown> = {},
  seed: TaskSeed = {},
): Promise<TaskContext> {
  const { taskIds } = await storeEvent(db.dataSource, {
    eventType: 'check_suite',
    repository: REPOSITORY,
    tasks: [
      {
        taskType: TaskType.CheckSuiteFailureAnalysis,
        repository: REPOSITORY,
        prNumber: 7,
        branch: 'feature',
        commitSha: HEAD,
        inputData: {
          action: 'completed',
          check_suite_id: SUITE_ID,
          conclusion: 'failure',
          app_slug: 'github-actions',
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

describe('CheckSuiteFailureAnalysisHandler', () => {
  it("reads the suite's runs and asks for one agent run naming every failed one, with their own words", async () => {
    bed.githubFake.setCheckRuns(REPOSITORY, SUITE_ID, [
      { id: 11, name: 'lint', conclusion: 'failure' },
      { id: 12, name: 'coverage upload', conclusion: 'success' },
      { id: 13, name: 'unit tests', conclusion: 'timed_out' },
    ]);
    bed.githubFake.setCheckRunDetails(REPOSITORY, 11, {
      name: 'lint',
      title: '3 lint errors',
      summary: 'no-unused-vars',
    });
    const result = await handler.handle(await analysis());
    expect(result.outputData).toMatchObject({
      pr_number: 7,
      check_suite_id: SUITE_ID,
      runs_total: 3,
      failed_runs: 2,
      shouldTriggerAgent: true,
    });
    expect(result.children).toHaveLength(1);
    const [child] = result.children!;
    expect(child).toMatchObject({
      taskType: TaskType.CodegenTrigger,
      dedupeKey: `${REPOSITORY}#7@${HEAD}:check_failure`,
      inputData: {
        trigger_kind: 'check_failure',
        prompt_kind: 'check_suite_failure',
        check_scope: 'check_suite',
        failing_checks: ['github-actions'],
      },
    });
    const prompt = child.inputData.prompt as string;
    expect(prompt).toContain('lint');
    expect(prompt).toContain('unit tests');
    expect(prompt).toContain('3 lint errors');
    expect(prompt).not.toContain('coverage upload');
  });

  it('asks for no run when none of the suite runs failed', async () => {
    bed.githubFake.setCheckRuns(REPOSITORY, SUITE_ID, [
      { id: 21, name: 'unit tests', conclusion: 'success' },
    ]);
    const result = await handler.handle(await analysis());
    expect(result.outputData).toMatchObject({ failed_runs: 0, shouldTriggerAgent: false });
    expect(result.children).toEqual([]);
  });

  it('cancels a cancelled suite unless cancelled checks count as failing', async () => {
    bed.githubFake.setCheckRuns(REPOSITORY, SUITE_ID, [
      { id: 31, name: 'unit tests', conclusion: 'cancelled' },
    ]);
    const off = await handler.handle(await analysis({ conclusion: 'cancelled' }));
    expect(off.cancel).toMatch(/cancelled/);
    expect(off.children).toBeUndefined();
    handler = buildHandler({ CHECK_INCLUDE_CANCELLED: 'true' });
    const on = await handler.handle(await analysis({ conclusion: 'cancelled' }));
    expect(on.outputData).toMatchObject({ failed_runs: 1, shouldTriggerAgent: true });
    expect(on.children).toHaveLength(1);
  });

  it('refuses a task without a check suite id', async () => {
    await expect(handler.handle(await analysis({ check_suite_id: null }))).rejects.toBeInstanceOf(
      DomainError,
    );
  });
});
