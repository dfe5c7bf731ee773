import { Registry } from 'prom-client';
import { TaskType } from '@app/domain';
import { DomainError } from '@app/platform';
import {
  AgentBudgetRepository,
  AgentRunOutcomeRepository,
  AgentRunRepository,
  ClaimedTask,
  TaskLifecycleRepository,
  WebhookEventRepository,
} from '@app/persistence';
import { AgentRunCreateUnconfirmedError } from '@app/codegen';
import { useWorkerTestBed } from '../../../../test/support/worker-test-bed';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { AgentOutcomeTelemetry } from '../agents/agent-outcome-telemetry';
import { AgentOutcomes } from '../agents/agent-outcomes.service';
import { AgentTrustTelemetry } from '../agents/agent-trust-telemetry';
import { AgentPolicy } from './agent-policy';
import { CodegenTriggerHandler } from './codegen-trigger.handler';
import { PrCommenter } from './pr-commenter';
import { HandlerResult, TaskContext } from './task-handler';

const REPOSITORY = 'octo-org/app';
const bed = useWorkerTestBed({ githubToken: 'ghp_unit_trigger', codegenRepositories: [REPOSITORY] });
const { db } = bed;
const HEAD = 'a'.repeat(40);
const PROMPT = 'The check "build" failed on pull request #7; fix it.';

let handler: CodegenTriggerHandler;
let lifecycle: TaskLifecycleRepository;
let agentRuns: AgentRunRepository;

/** The handler as the worker builds it, with the real clients pointed at the fakes. */
function buildHandler(env: Record<string, string> = {}): CodegenTriggerHandler {
  const config = bed.config(env);
  const events = new WebhookEventRepository();
  lifecycle = bed.lifecycle(events);
  agentRuns = new AgentRunRepository(db.dataSource, events);
  const registry = new Registry();
  const github = bed.github();
  const codegen = config.codegen.dryRun ? null : bed.codegen();
  const outcomes = new AgentRunOutcomeRepository(db.dataSource);
  const commenter = new PrCommenter(github, config, bed.logger);
  return new CodegenTriggerHandler(
    codegen,
    new AgentPolicy(
      github,
      agentRuns,
      outcomes,
      new AgentBudgetRepository(db.dataSource),
      bed.repositoryRules(github, config),
      new AgentTrustTelemetry(registry),
      config,
    ),
    commenter,
    new AgentOutcomes(
      outcomes,
      db.dataSource,
      commenter,
      github,
      new AgentOutcomeTelemetry(registry),
      config,
      bed.logger,
    ),
    config,
    bed.logger,
  );
}

beforeEach(() => {
  // An open pull request by a member, its head the trigger's commit.
  bed.githubFake.setPullRequest(REPOSITORY, 7, { headSha: HEAD, authorAssociation: 'MEMBER' });
  handler = buildHandler();
});

interface Trigger {
  taskId: string;
  claim: ClaimedTask;
  ctx: TaskContext;
}

/** A codegen_trigger task claimed for an attempt, with the context the runner would give it. */
async function trigger(
  input: Record<string, unknown> = {},
  sender: { login: string; type: string } = { login: 'octocat', type: 'User' },
): Promise<Trigger> {
  const { eventId, taskIds } = await storeEvent(db.dataSource, {
    repository: REPOSITORY,
    tasks: [
      {
        taskType: TaskType.CodegenTrigger,
        repository: REPOSITORY,
        prNumber: 7,
        commitSha: HEAD,
        inputData: { prompt: PROMPT, trigger_kind: 'pull_request', ...input },
      },
    ],
  });
  await db.rows(`UPDATE webhook_events SET payload = $1::jsonb WHERE id = $2`, [
    JSON.stringify({ action: 'opened', sender }),
    eventId,
  ]);
  return attempt(taskIds[0]);
}

async function attempt(taskId: string): Promise<Trigger> {
  const claim = await lifecycle.claimForRun(taskId, 'unit-worker', 'codegen', 60_000);
  if (!claim) throw new Error('could not claim');
  const ctx = await bed.context(claim, {
    checkpoint: (u) => agentRuns.recordAgentRun(claim, u.codegenTaskId, u.codegenTaskUrl),
    markAgentRunRequested: (requested) => agentRuns.markAgentRunRequested(claim, requested),
  });
  return { taskId, claim, ctx };
}

async function stored(taskId: string): Promise<{ codegen_task_id: string | null }> {
  const [row] = await db.rows<{ codegen_task_id: string | null }>(
    'SELECT codegen_task_id FROM workflow_tasks WHERE task_id = $1',
    [taskId],
  );
  return row;
}

/** Runs the handler and expects a refusal: the task is cancelled and Codegen asked nothing. */
async function refusal(t: Trigger): Promise<string> {
  const result: HandlerResult = await handler.handle(t.ctx);
  expect(result.waitForAgentRun).toBeUndefined();
  expect(bed.codegenFake.counters.create).toBe(0);
  expect(bed.githubFake.comments).toHaveLength(0);
  expect(result.outputData).toMatchObject({ skipped: true, reason: result.cancel });
  return result.cancel as string;
}

describe('CodegenTriggerHandler', () => {
  it('starts one agent run with the prompt, saves its id, comments once on the pull request and hands it to the poller', async () => {
    const t = await trigger();
    const result = await handler.handle(t.ctx);
    expect(bed.codegenFake.createdRuns).toHaveLength(1);
    const run = bed.codegenFake.createdRuns[0];
    expect(run).toMatchObject({
      prompt: PROMPT,
      repoId: bed.codegenFake.repositoryId(REPOSITORY),
      metadata: expect.objectContaining({ task_id: t.taskId, pr_number: 7, head_sha: HEAD }),
    });
    expect(result).toMatchObject({
      waitForAgentRun: true,
      codegen: { id: String(run.id) },
      outputData: { agent_run_id: String(run.id), prompt: PROMPT },
    });
    expect(await stored(t.taskId)).toEqual({ codegen_task_id: String(run.id) });
    expect(bed.githubFake.comments).toHaveLength(1);
    expect(bed.githubFake.comments[0]).toMatchObject({ repo: REPOSITORY, issue: 7 });
    expect(bed.githubFake.comments[0].body).toContain(`agent run ${run.id}`);
    expect(result.outputData.pr_comment_id).toBe(bed.githubFake.comments[0].id);
  });

  it('follows the run an earlier attempt started instead of starting another', async () => {
    const t = await trigger();
    expect(await agentRuns.recordAgentRun(t.claim, '555', null)).toBe(true);
    const again = await attempt(t.taskId);
    const result = await handler.handle(again.ctx);
    expect(result).toMatchObject({
      waitForAgentRun: true,
      codegen: { id: '555' },
      outputData: { resumed: true, agent_run_id: '555' },
    });
    expect(bed.codegenFake.counters.create).toBe(0);
  });

  it('adopts the run a create whose answer was lost made, never starting a second one', async () => {
    const t = await trigger();
    bed.codegenFake.cutNextCreate();
    await expect(handler.handle(t.ctx)).rejects.toBeInstanceOf(AgentRunCreateUnconfirmedError);
    expect(bed.codegenFake.createdRuns).toHaveLength(1);
    const next = await attempt(t.taskId);
    const result = await handler.handle(next.ctx);
    expect(result).toMatchObject({
      waitForAgentRun: true,
      codegen: { id: String(bed.codegenFake.createdRuns[0].id) },
      outputData: { adopted: true },
    });
    expect(bed.codegenFake.createdRuns).toHaveLength(1);
    expect(bed.codegenFake.counters.create).toBe(1);
  });

  it('starts nothing in a dry run (no Codegen token), saying what it would have sent', async () => {
    handler = buildHandler({ CODEGEN_TOKEN: '' });
    const t = await trigger();
    const result = await handler.handle(t.ctx);
    expect(result).toEqual({ outputData: { dry_run: true, prompt: PROMPT } });
    expect(bed.codegenFake.counters.create).toBe(0);
  });

  it('refuses a trigger without a prompt', async () => {
    const t = await trigger({ prompt: '' });
    await expect(handler.handle(t.ctx)).rejects.toBeInstanceOf(DomainError);
    expect(bed.codegenFake.counters.create).toBe(0);
  });

  it('cancels when Codegen does not know the repository', async () => {
    bed.codegenFake.setRepositories(['someone-else/repo']);
    const reason = await refusal(await trigger());
    expect(reason).toMatch(/^Codegen does not know the repository octo-org\/app/);
  });

  describe('policy refusals', () => {
    it('a closed pull request', async () => {
      bed.githubFake.setPullRequest(REPOSITORY, 7, { headSha: HEAD, state: 'closed' });
      expect(await refusal(await trigger())).toBe('pull request is closed');
    });

    it('a pull request whose head moved on', async () => {
      bed.githubFake.setPullRequest(REPOSITORY, 7, { headSha: 'b'.repeat(40) });
      expect(await refusal(await trigger())).toBe(`stale: head is now ${'b'.repeat(40)}`);
    });

    it('the skip label', async () => {
      bed.githubFake.setPullRequest(REPOSITORY, 7, { headSha: HEAD, labels: ['No-Agent'] });
      expect(await refusal(await trigger())).toBe(
        'label "no-agent" turns agent runs off for this pull request',
      );
    });

    it('an author the trust gate does not trust, unless the opt-in label is on', async () => {
      bed.githubFake.setPullRequest(REPOSITORY, 7, {
        headSha: HEAD,
        authorAssociation: 'FIRST_TIME_CONTRIBUTOR',
      });
      expect(await refusal(await trigger())).toMatch(/^untrusted: /);
      bed.githubFake.setPullRequest(REPOSITORY, 7, {
        headSha: HEAD,
        authorAssociation: 'FIRST_TIME_CONTRIBUTOR',
        labels: ['agent:allow'],
      });
      const result = await handler.handle((await trigger()).ctx);
      expect(result.waitForAgentRun).toBe(true);
    });

    it('a fork pull request', async () => {
      bed.githubFake.setPullRequest(REPOSITORY, 7, {
        headSha: HEAD,
        authorAssociation: 'CONTRIBUTOR',
        headRepository: 'stranger/app',
      });
      expect(await refusal(await trigger())).toMatch(/^untrusted: .*fork/);
    });

    it('an event a bot sent (the agent never reacts to itself)', async () => {
      const t = await trigger({}, { login: 'renovate[bot]', type: 'Bot' });
      expect(await refusal(t)).toBe('event sent by bot renovate[bot] (not on AGENT_BOT_ALLOWLIST)');
    });

    it('a failing commit a bot made', async () => {
      bed.githubFake.setCommit(REPOSITORY, HEAD, { authorLogin: 'dependabot[bot]', authorType: 'Bot' });
      expect(await refusal(await trigger({ trigger_kind: 'check_failure' }))).toBe(
        'failing commit was made by bot dependabot[bot] (not on AGENT_BOT_ALLOWLIST)',
      );
    });

    it("the pull request's daily budget", async () => {
      handler = buildHandler({ AGENT_MAX_RUNS_PER_PR_PER_DAY: '1' });
      const first = await trigger();
      expect((await handler.handle(first.ctx)).waitForAgentRun).toBe(true);
      bed.codegenFake.reset();
      bed.githubFake.comments.length = 0;
      expect(await refusal(await trigger())).toMatch(/^budget: pull request \(1 agent run/);
    });

    it("the repository's daily budget", async () => {
      handler = buildHandler({ AGENT_MAX_RUNS_PER_REPO_PER_DAY: '0' });
      expect(await refusal(await trigger())).toMatch(/^budget: /);
    });

    it('agent runs turned off by the settings', async () => {
      handler = buildHandler({ AGENT_RUNS_ENABLED: 'false' });
      expect(await refusal(await trigger())).toBe(
        'agent runs are turned off for this repository by the workflow rules',
      );
    });
  });
});
