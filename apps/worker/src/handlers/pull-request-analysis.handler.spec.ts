import { TaskType } from '@app/domain';
import { ExternalServiceError } from '@app/platform';
import {
  AgentRunRepository,
  TaskLifecycleRepository,
  WebhookEventRepository,
} from '@app/persistence';
import { useWorkerTestBed } from '../../../../test/support/worker-test-bed';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { TrustLabelRelease } from '../agents/trust-label-release';
import { PullRequestAnalysisHandler } from './pull-request-analysis.handler';
import { TaskContext } from './task-handler';

const bed = useWorkerTestBed({ githubToken: 'ghp_unit_pulls', queuePrefix: 'unit_pr_analysis' });
const { db } = bed;
const REPOSITORY = 'octo-org/app';
const HEAD = 'd'.repeat(40);

let handler: PullRequestAnalysisHandler;
let lifecycle: TaskLifecycleRepository;

/** The handler as the worker builds it, with the real GitHub client pointed at the fake. */
function buildHandler(env: Record<string, string> = {}): PullRequestAnalysisHandler {
  const config = bed.config(env);
  const events = new WebhookEventRepository();
  lifecycle = bed.lifecycle(events);
  const github = bed.github();
  return new PullRequestAnalysisHandler(
    github,
    lifecycle,
    new TrustLabelRelease(
      new AgentRunRepository(db.dataSource, events),
      // The trust-label release (the labeled action) hands tasks to these queues; the specs
      // below do not reach it, but the handler is built whole.
      bed.enqueuer(),
      bed.logger,
    ),
    bed.repositoryRules(github, config),
  );
}

beforeEach(() => {
  handler = buildHandler();
});

/** A pull_request_analysis task as the intake stores it, claimed for an attempt. */
async function analysis(
  input: Record<string, unknown> = {},
  commitSha = HEAD,
): Promise<TaskContext> {
  const { taskIds } = await storeEvent(db.dataSource, {
    repository: REPOSITORY,
    tasks: [
      {
        taskType: TaskType.PullRequestAnalysis,
        repository: REPOSITORY,
        prNumber: 7,
        branch: 'feature',
        commitSha,
        inputData: {
          action: 'opened',
          pr_number: 7,
          draft: false,
          title: 'Add sum()',
          html_url: `https://github.com/${REPOSITORY}/pull/7`,
          base_ref: 'main',
          is_fork: false,
          ...input,
        },
      },
    ],
  });
  const claim = await lifecycle.claimForRun(taskIds[0], 'unit-worker', 'analysis', 60_000);
  if (!claim) throw new Error('could not claim');
  return bed.context(claim);
}

const codeFiles = (n: number): Array<{ filename: string }> =>
  Array.from({ length: n }, (_, i) => ({ filename: `src/module${i}.ts` }));

describe('PullRequestAnalysisHandler', () => {
  it('asks for one agent run for a new pull request that changes code, prompting with its title', async () => {
    bed.githubFake.setPullRequestFiles(REPOSITORY, 7, [...codeFiles(2), { filename: 'README.md' }]);
    const result = await handler.handle(await analysis());
    expect(result.outputData).toMatchObject({
      action: 'opened',
      shouldTriggerAgent: true,
      files_total: 3,
      reasons: ['new pull request with 2 code files'],
    });
    expect(result.children).toHaveLength(1);
    const [child] = result.children!;
    expect(child).toMatchObject({
      taskType: TaskType.CodegenTrigger,
      dedupeKey: `${REPOSITORY}#7@${HEAD}:pull_request`,
      inputData: { trigger_kind: 'pull_request', push_target: 'head_branch' },
    });
    expect(child.inputData.prompt as string).toContain('Add sum()');
  });

  it('asks for no run for a pull request that changes no code', async () => {
    bed.githubFake.setPullRequestFiles(REPOSITORY, 7, [{ filename: 'docs/guide.md' }]);
    const result = await handler.handle(await analysis());
    expect(result.outputData).toMatchObject({ shouldTriggerAgent: false });
    expect(result.children).toEqual([]);
  });

  it('lets a fork pull request run only as a new pull request, never a push to its branch', async () => {
    bed.githubFake.setPullRequestFiles(REPOSITORY, 7, codeFiles(1));
    const result = await handler.handle(await analysis({ is_fork: true }));
    expect(result.children![0].inputData).toMatchObject({ push_target: 'new_pull_request' });
  });

  it('skips a draft, and analyses it once it is marked ready for review', async () => {
    const draft = await handler.handle(await analysis({ draft: true }));
    expect(draft.outputData).toMatchObject({ skipped: true, reason: 'draft pull request' });
    expect(draft.children).toBeUndefined();
    expect(bed.githubFake.requests).toHaveLength(0);
    bed.githubFake.setPullRequestFiles(REPOSITORY, 7, [{ filename: 'docs/guide.md' }]);
    const ready = await handler.handle(
      await analysis({ draft: true, action: 'ready_for_review' }, 'e'.repeat(40)),
    );
    expect(ready.outputData).toMatchObject({ shouldTriggerAgent: true });
    expect(ready.children).toHaveLength(1);
  });

  it('asks for a run on an update only above the code file threshold (SYNCHRONIZE_CODE_FILE_THRESHOLD)', async () => {
    handler = buildHandler({ SYNCHRONIZE_CODE_FILE_THRESHOLD: '2' });
    bed.githubFake.setPullRequestFiles(REPOSITORY, 7, codeFiles(2));
    const small = await handler.handle(await analysis({ action: 'synchronize' }));
    expect(small.children).toEqual([]);
    expect(small.outputData.reasons).toEqual([
      'pull request update touches 2 code files, not more than the threshold of 2',
    ]);
    bed.githubFake.setPullRequestFiles(REPOSITORY, 7, codeFiles(3));
    const large = await handler.handle(await analysis({ action: 'synchronize' }, 'f'.repeat(40)));
    expect(large.children).toHaveLength(1);
  });

  it('cancels the older analyses and unstarted agent triggers of the pull request when its head moves on', async () => {
    const older = await storeEvent(db.dataSource, {
      repository: REPOSITORY,
      tasks: [
        {
          taskType: TaskType.PullRequestAnalysis,
          repository: REPOSITORY,
          prNumber: 7,
          commitSha: '1'.repeat(40),
        },
        {
          taskType: TaskType.CodegenTrigger,
          repository: REPOSITORY,
          prNumber: 7,
          commitSha: '1'.repeat(40),
        },
      ],
    });
    bed.githubFake.setPullRequestFiles(REPOSITORY, 7, codeFiles(1));
    const result = await handler.handle(await analysis({ action: 'synchronize' }));
    expect((result.outputData.superseded_task_ids as string[]).sort()).toEqual(
      [...older.taskIds].sort(),
    );
    const rows = await db.rows<{ status: string; error_message: string }>(
      'SELECT status, error_message FROM workflow_tasks WHERE task_id = ANY($1)',
      [older.taskIds],
    );
    expect(rows.map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
    expect(rows[0].error_message).toContain(HEAD);
  });

  it('leaves a GitHub failure to the retries (5xx is transient)', async () => {
    bed.githubFake.failNext(3, {
      status: 503,
      route: 'GET /repos/{owner}/{repo}/pulls/{pull_number}/files',
    });
    const error: unknown = await handler.handle(await analysis()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect((error as ExternalServiceError).transient).toBe(true);
  });

  it("cancels when the repository's own rules file turns pull_request events off", async () => {
    const ctx = await analysis();
    bed.githubFake.setRepositoryFile(
      REPOSITORY,
      '.github/webhook-orchestrator.yml',
      'events: [push]\n',
    );
    const result = await handler.handle(ctx);
    expect(result.cancel).toMatch(/pull_request events are turned off/);
    expect(result.children).toBeUndefined();
  });
});
