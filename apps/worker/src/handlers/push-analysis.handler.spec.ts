import { TaskType } from '@app/domain';
import { TaskLifecycleRepository, WebhookEventEntity } from '@app/persistence';
import { useWorkerTestBed } from '../../../../test/support/worker-test-bed';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { PushAnalysisHandler } from './push-analysis.handler';
import { TaskContext } from './task-handler';

const bed = useWorkerTestBed({ githubToken: 'ghp_unit_push' });
const { db } = bed;
const REPOSITORY = 'octo-org/app';
const HEAD = '9'.repeat(40);
const RULES_FILE = '.github/webhook-orchestrator.yml';

let handler: PushAnalysisHandler;
let lifecycle: TaskLifecycleRepository;

beforeEach(() => {
  lifecycle = bed.lifecycle();
  const github = bed.github();
  handler = new PushAnalysisHandler(bed.repositoryRules(github, bed.config()));
});

/** A push to `main` with the given commits, stored as the intake stores it, claimed. */
async function push(commits: Array<Record<string, unknown>>): Promise<TaskContext> {
  const { eventId, taskIds } = await storeEvent(db.dataSource, {
    eventType: 'push',
    repository: REPOSITORY,
    tasks: [
      {
        taskType: TaskType.PushAnalysis,
        repository: REPOSITORY,
        prNumber: null,
        branch: 'main',
        commitSha: HEAD,
        inputData: { ref: 'refs/heads/main', after: HEAD },
      },
    ],
  });
  await db.rows('UPDATE webhook_events SET payload = $1::jsonb WHERE id = $2', [
    JSON.stringify({
      ref: 'refs/heads/main',
      after: HEAD,
      repository: { full_name: REPOSITORY, default_branch: 'main' },
      commits,
      head_commit: commits[commits.length - 1] ?? null,
    }),
    eventId,
  ]);
  const claim = await lifecycle.claimForRun(taskIds[0], 'unit-worker', 'analysis', 60_000);
  if (!claim) throw new Error('could not claim');
  return {
    task: claim.task,
    event: await db.dataSource.getRepository(WebhookEventEntity).findOneBy({ id: eventId }),
    signal: new AbortController().signal,
    attempt: claim.attempt,
    sendBy: Date.now() + 60_000,
    checkpoint: () => Promise.resolve(true),
    markAgentRunRequested: () => Promise.resolve(true),
  };
}

const commit = (
  id: string,
  files: { added?: string[]; modified?: string[]; removed?: string[] },
) => ({
  id: id.repeat(40),
  message: `commit ${id}`,
  author: { name: 'Mona', username: 'mona' },
  added: files.added ?? [],
  modified: files.modified ?? [],
  removed: files.removed ?? [],
});

describe('PushAnalysisHandler', () => {
  it('summarises the commits, authors and paths of a push', async () => {
    const result = await handler.handle(
      await push([
        commit('1', { added: ['src/a.ts'], modified: ['README.md'] }),
        commit('2', { modified: ['src/a.ts'], removed: ['old.txt'] }),
      ]),
    );
    expect(result.cancel).toBeUndefined();
    expect(result.children).toBeUndefined();
    expect(result.outputData).toMatchObject({
      branch: 'main',
      commitCount: 2,
      authors: ['mona'],
      addedCount: 1,
      modifiedCount: 2,
    });
    expect(result.outputData.repository_rules_refresh).toBeUndefined();
  });

  it("reads the repository's rules file again after a push to the default branch changed it", async () => {
    const before = await handler.handle(await push([commit('3', { modified: ['src/a.ts'] })]));
    expect(before.cancel).toBeUndefined();
    // The file now turns push analyses off; the push that adds it is how the workers learn it.
    bed.githubFake.setRepositoryFile(REPOSITORY, RULES_FILE, 'push_branches: []\n');
    const result = await handler.handle(await push([commit('4', { added: [RULES_FILE] })]));
    expect(result.outputData).toMatchObject({ repository_rules_refresh: true });
    expect(result.cancel).toMatch(/^push_branches: pushes to main are not analysed/);
  });

  it("cancels a push the repository's own rules file leaves out", async () => {
    bed.githubFake.setRepositoryFile(REPOSITORY, RULES_FILE, 'push_branches: []\n');
    const result = await handler.handle(await push([commit('5', { modified: ['src/a.ts'] })]));
    expect(result.cancel).toBe(
      'push_branches: pushes to main are not analysed for this repository (none, set by its .github/webhook-orchestrator.yml)',
    );
    expect(result.outputData).toMatchObject({ skipped: true, reason: result.cancel });
  });
});
