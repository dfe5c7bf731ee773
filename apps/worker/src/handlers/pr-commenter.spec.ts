import { TaskType } from '@app/domain';
import { WorkflowTaskEntity } from '@app/persistence';
import { useWorkerTestBed } from '../../../../test/support/worker-test-bed';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { PrCommenter } from './pr-commenter';

const bed = useWorkerTestBed({ githubToken: 'ghp_unit_comments' });
const { db } = bed;
const REPOSITORY = 'octo-org/app';
const HEAD = 'b'.repeat(40);

function commenter(env: Record<string, string> = {}): PrCommenter {
  return new PrCommenter(bed.github(), bed.config(env), bed.logger);
}

/** A stored codegen_trigger task, as the handler and the poller see it. */
async function triggerTask(input: Record<string, unknown> = {}): Promise<WorkflowTaskEntity> {
  const { taskIds } = await storeEvent(db.dataSource, {
    repository: REPOSITORY,
    tasks: [
      {
        taskType: TaskType.CodegenTrigger,
        repository: REPOSITORY,
        prNumber: 7,
        commitSha: HEAD,
        inputData: { prompt: 'fix it', reasons: ['1 failing check (1 test)'], ...input },
      },
    ],
  });
  const task = await bed.lifecycle().findByTaskId(taskIds[0]);
  return task as WorkflowTaskEntity;
}

describe('PrCommenter', () => {
  it('posts one comment when a run starts and edits that same comment when it ends', async () => {
    const pr = commenter();
    const task = await triggerTask();
    const id = await pr.runStarted(task, '77', 'https://codegen.com/agent/trace/77', null);
    expect(bed.githubFake.comments).toHaveLength(1);
    const [started] = bed.githubFake.comments;
    expect(started).toMatchObject({ id, repo: REPOSITORY, issue: 7, edits: 0 });
    expect(started.body).toContain(
      `🤖 Codegen [agent run 77](https://codegen.com/agent/trace/77) started for \`${HEAD.slice(0, 12)}\`.`,
    );
    expect(started.body).toContain('Why: 1 failing check (1 test)');

    task.codegenTaskId = '77';
    await pr.runEnded(
      task,
      {
        pr_comment_id: id,
        web_url: 'https://codegen.com/agent/trace/77',
        summary: 'Fixed the import',
        pull_requests: [{ url: `https://github.com/${REPOSITORY}/pull/8` }],
      },
      'finished',
    );
    expect(bed.githubFake.comments).toHaveLength(1);
    expect(bed.githubFake.comments[0].edits).toBe(1);
    expect(bed.githubFake.comments[0].body).toContain(
      'agent run 77](https://codegen.com/agent/trace/77)',
    );
    expect(bed.githubFake.comments[0].body).toContain('finished.');
    expect(bed.githubFake.comments[0].body).toContain(`- https://github.com/${REPOSITORY}/pull/8`);
    expect(bed.githubFake.comments[0].body).toContain('> Fixed the import');
  });

  it("edits the first run's comment for a follow-up run instead of posting another", async () => {
    const pr = commenter();
    const first = await pr.runStarted(await triggerTask(), '1', null, null);
    const followUp = await triggerTask({ pr_comment_id: first });
    expect(await pr.runStarted(followUp, '2', null, null)).toBe(first);
    expect(bed.githubFake.comments).toHaveLength(1);
    expect(bed.githubFake.comments[0].body).toContain('agent run 2 started');
  });

  it("renders Codegen's summary and unchecked links as plain text: no mention, markup or foreign link", async () => {
    const pr = commenter();
    const task = await triggerTask();
    const id = await pr.runStarted(task, '9', 'javascript:alert(1)', null);
    expect(bed.githubFake.comments[0].body).not.toContain('javascript:');
    task.codegenTaskId = '9';
    await pr.runEnded(
      task,
      {
        pr_comment_id: id,
        summary:
          '@octo-org/admins please <img src=x onerror=alert(1)> [click](https://evil.example)',
        pull_requests: [{ url: 'https://evil.example/x"onclick' }],
      },
      'finished',
    );
    const body = bed.githubFake.comments[0].body;
    expect(body).not.toMatch(/@[A-Za-z]/);
    expect(body).not.toContain('<img');
    expect(body).not.toMatch(/(^|[^\\])\[click\]\(/);
    expect(body).not.toContain('onclick');
  });

  it('says nothing when PR comments are off, and never fails the run when GitHub refuses the comment', async () => {
    const off = commenter({ PR_COMMENTS_ENABLED: 'false' });
    expect(await off.runStarted(await triggerTask(), '3', null, null)).toBeNull();
    expect(bed.githubFake.comments).toHaveLength(0);
    bed.githubFake.failNext(1, {
      status: 403,
      route: 'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
    });
    expect(await commenter().runStarted(await triggerTask(), '4', null, null)).toBeNull();
    expect(bed.githubFake.comments).toHaveLength(0);
  });
});
