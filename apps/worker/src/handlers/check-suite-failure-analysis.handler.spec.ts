import { createLogger, transports } from 'winston';
import { TaskType } from '@app/domain';
import { DomainError } from '@app/platform';
import {
  AuditLogRepository,
  RepositoryRulesFileRepository,
  TaskCreationRepository,
  TaskExecutionRepository,
  TaskLifecycleRepository,
  WebhookEventEntity,
  WebhookEventRepository,
} from '@app/persistence';
import { GithubClient } from '@app/github';
import { GithubFake } from '../../../../test/fakes';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent, TaskSeed } from '../../../../test/support/task-fixtures';
import { RepositoryRulesService } from '../agents/repository-rules.service';
import { loadWorkerConfig } from '../config/worker.config';
import { CheckSuiteFailureAnalysisHandler } from './check-suite-failure-analysis.handler';
import { TaskContext } from './task-handler';

const db = useUnitDatabase();
const logger = createLogger({ transports: [new transports.Console({ silent: true })] });
const GITHUB_TOKEN = 'ghp_unit_suites';
const REPOSITORY = 'octo-org/app';
const HEAD = 'c'.repeat(40);
const SUITE_ID = 9001;

let githubFake: GithubFake;

beforeAll(async () => {
  githubFake = await GithubFake.start({ token: GITHUB_TOKEN });
});

afterAll(async () => {
  await githubFake.stop();
});

let handler: CheckSuiteFailureAnalysisHandler;
let lifecycle: TaskLifecycleRepository;

/** The handler as the worker builds it, with the real GitHub client pointed at the fake. */
function buildHandler(env: Record<string, string> = {}): CheckSuiteFailureAnalysisHandler {
  const config = loadWorkerConfig({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused',
    GITHUB_API_URL: githubFake.url,
    GITHUB_TOKEN,
    ...env,
  });
  lifecycle = new TaskLifecycleRepository(
    db.dataSource,
    new WebhookEventRepository(),
    new TaskExecutionRepository(db.dataSource),
    new TaskCreationRepository(),
  );
  const github = new GithubClient({ apiUrl: githubFake.url, token: GITHUB_TOKEN, timeoutMs: 5000 });
  return new CheckSuiteFailureAnalysisHandler(
    github,
    logger,
    new RepositoryRulesService(
      github,
      new RepositoryRulesFileRepository(db.dataSource),
      new AuditLogRepository(db.dataSource),
      config,
      logger,
    ),
  );
}

beforeEach(() => {
  githubFake.reset();
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
  const event = await db.dataSource
    .getRepository(WebhookEventEntity)
    .findOneBy({ id: claim.task.webhookEventId as number });
  return {
    task: claim.task,
    event,
    signal: new AbortController().signal,
    attempt: claim.attempt,
    sendBy: Date.now() + 60_000,
    checkpoint: () => Promise.resolve(true),
    markAgentRunRequested: () => Promise.resolve(true),
  };
}

describe('CheckSuiteFailureAnalysisHandler', () => {
  it("reads the suite's runs and asks for one agent run naming every failed one, with their own words", async () => {
    githubFake.setCheckRuns(REPOSITORY, SUITE_ID, [
      { id: 11, name: 'lint', conclusion: 'failure' },
      { id: 12, name: 'coverage upload', conclusion: 'success' },
      { id: 13, name: 'unit tests', conclusion: 'timed_out' },
    ]);
    githubFake.setCheckRunDetails(REPOSITORY, 11, {
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
    githubFake.setCheckRuns(REPOSITORY, SUITE_ID, [
      { id: 21, name: 'unit tests', conclusion: 'success' },
    ]);
    const result = await handler.handle(await analysis());
    expect(result.outputData).toMatchObject({ failed_runs: 0, shouldTriggerAgent: false });
    expect(result.children).toEqual([]);
  });

  it('cancels a cancelled suite unless cancelled checks count as failing', async () => {
    githubFake.setCheckRuns(REPOSITORY, SUITE_ID, [
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
