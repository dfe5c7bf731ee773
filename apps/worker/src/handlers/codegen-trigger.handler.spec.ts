import { Registry } from 'prom-client';
import { createLogger, transports } from 'winston';
import { TaskType } from '@app/domain';
import { DomainError } from '@app/platform';
import {
  AgentBudgetRepository,
  AgentRunOutcomeRepository,
  AgentRunRepository,
  AuditLogRepository,
  ClaimedTask,
  RepositoryRulesFileRepository,
  TaskCreationRepository,
  TaskExecutionRepository,
  TaskLifecycleRepository,
  WebhookEventEntity,
  WebhookEventRepository,
} from '@app/persistence';
import { AgentRunCreateUnconfirmedError, CodegenClient } from '@app/codegen';
import { GithubClient } from '@app/github';
import { CodegenFake, GithubFake } from '../../../../test/fakes';
import { useUnitDatabase } from '../../../../test/support/unit-database';
import { storeEvent } from '../../../../test/support/task-fixtures';
import { AgentOutcomeTelemetry } from '../agents/agent-outcome-telemetry';
import { AgentOutcomes } from '../agents/agent-outcomes.service';
import { AgentTrustTelemetry } from '../agents/agent-trust-telemetry';
import { RepositoryRulesService } from '../agents/repository-rules.service';
import { loadWorkerConfig } from '../config/worker.config';
import { AgentPolicy } from './agent-policy';
import { CodegenTriggerHandler } from './codegen-trigger.handler';
import { PrCommenter } from './pr-commenter';
import { HandlerResult, TaskContext } from './task-handler';

const db = useUnitDatabase();
const logger = createLogger({ transports: [new transports.Console({ silent: true })] });
const GITHUB_TOKEN = 'ghp_unit_trigger';
const REPOSITORY = 'octo-org/app';
const HEAD = 'a'.repeat(40);
const PROMPT = 'The check "build" failed on pull request #7; fix it.';

let codegenFake: CodegenFake;
let githubFake: GithubFake;

beforeAll(async () => {
  [codegenFake, githubFake] = await Promise.all([
    CodegenFake.start({ repositories: [REPOSITORY] }),
    GithubFake.start({ token: GITHUB_TOKEN }),
  ]);
});

afterAll(async () => {
  await Promise.all([codegenFake.stop(), githubFake.stop()]);
});

let handler: CodegenTriggerHandler;
let lifecycle: TaskLifecycleRepository;
let agentRuns: AgentRunRepository;

/** The handler as the worker builds it, with the real clients pointed at the fakes. */
function buildHandler(env: Record<string, string> = {}): CodegenTriggerHandler {
  const config = loadWorkerConfig({
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/unused',
    GITHUB_API_URL: githubFake.url,
    GITHUB_TOKEN,
    CODEGEN_BASE_URL: codegenFake.url,
    CODEGEN_TOKEN: codegenFake.token,
    CODEGEN_ORG_ID: String(codegenFake.orgId),
    ...env,
  });
  const events = new WebhookEventRepository();
  lifecycle = new TaskLifecycleRepository(
    db.dataSource,
    events,
    new TaskExecutionRepository(db.dataSource),
    new TaskCreationRepository(),
  );
  agentRuns = new AgentRunRepository(db.dataSource, events);
  const registry = new Registry();
  const github = new GithubClient({ apiUrl: githubFake.url, token: GITHUB_TOKEN, timeoutMs: 5000 });
  const codegen = config.codegen.dryRun
    ? null
    : new CodegenClient({
        baseUrl: codegenFake.url,
        token: codegenFake.token,
        orgId: codegenFake.orgId,
        timeoutMs: 5000,
      });
  const outcomes = new AgentRunOutcomeRepository(db.dataSource);
  const commenter = new PrCommenter(github, config, logger);
  return new CodegenTriggerHandler(
    codegen,
    new AgentPolicy(
      github,
      agentRuns,
      outcomes,
      new AgentBudgetRepository(db.dataSource),
      new RepositoryRulesService(
        github,
        new RepositoryRulesFileRepository(db.dataSource),
        new AuditLogRepository(db.dataSource),
        config,
        logger,
      ),
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
      logger,
    ),
    config,
    logger,
  );
}

beforeEach(() => {
  codegenFake.reset();
  githubFake.reset();
  // An open pull request by a member, its head the trigger's commit.
  githubFake.setPullRequest(REPOSITORY, 7, { headSha: HEAD, authorAssociation: 'MEMBER' });
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
  const event = claim.task.webhookEventId
    ? await db.dataSource
        .getRepository(WebhookEventEntity)
        .findOneBy({ id: claim.task.webhookEventId })
    : null;
  const ctx: TaskContext = {
    task: claim.task,
    event,
    signal: new AbortController().signal,
    attempt: claim.attempt,
    sendBy: Date.now() + 60_000,
    checkpoint: (u) => agentRuns.recordAgentRun(claim, u.codegenTaskId, u.codegenTaskUrl),
    markAgentRunRequested: (requested) => agentRuns.markAgentRunRequested(claim, requested),
  };
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
  expect(codegenFake.counters.create).toBe(0);
  expect(githubFake.comments).toHaveLength(0);
  expect(result.outputData).toMatchObject({ skipped: true, reason: result.cancel });
  return result.cancel as string;
}

describe('CodegenTriggerHandler', () => {
  it('starts one agent run with the prompt, saves its id, comments once on the pull request and hands it to the poller', async () => {
    const t = await trigger();
    const result = await handler.handle(t.ctx);
    expect(codegenFake.createdRuns).toHaveLength(1);
    const run = codegenFake.createdRuns[0];
    expect(run).toMatchObject({
      prompt: PROMPT,
      repoId: codegenFake.repositoryId(REPOSITORY),
      metadata: expect.objectContaining({ task_id: t.taskId, pr_number: 7, head_sha: HEAD }),
    });
    expect(result).toMatchObject({
      waitForAgentRun: true,
      codegen: { id: String(run.id) },
      outputData: { agent_run_id: String(run.id), prompt: PROMPT },
    });
    expect(await stored(t.taskId)).toEqual({ codegen_task_id: String(run.id) });
    expect(githubFake.comments).toHaveLength(1);
    expect(githubFake.comments[0]).toMatchObject({ repo: REPOSITORY, issue: 7 });
    expect(githubFake.comments[0].body).toContain(`agent run ${run.id}`);
    expect(result.outputData.pr_comment_id).toBe(githubFake.comments[0].id);
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
    expect(codegenFake.counters.create).toBe(0);
  });

  it('adopts the run a create whose answer was lost made, never starting a second one', async () => {
    const t = await trigger();
    codegenFake.cutNextCreate();
    await expect(handler.handle(t.ctx)).rejects.toBeInstanceOf(AgentRunCreateUnconfirmedError);
    expect(codegenFake.createdRuns).toHaveLength(1);
    const next = await attempt(t.taskId);
    const result = await handler.handle(next.ctx);
    expect(result).toMatchObject({
      waitForAgentRun: true,
      codegen: { id: String(codegenFake.createdRuns[0].id) },
      outputData: { adopted: true },
    });
    expect(codegenFake.createdRuns).toHaveLength(1);
    expect(codegenFake.counters.create).toBe(1);
  });

  it('starts nothing in a dry run (no Codegen token), saying what it would have sent', async () => {
    handler = buildHandler({ CODEGEN_TOKEN: '' });
    const t = await trigger();
    const result = await handler.handle(t.ctx);
    expect(result).toEqual({ outputData: { dry_run: true, prompt: PROMPT } });
    expect(codegenFake.counters.create).toBe(0);
  });

  it('refuses a trigger without a prompt', async () => {
    const t = await trigger({ prompt: '' });
    await expect(handler.handle(t.ctx)).rejects.toBeInstanceOf(DomainError);
    expect(codegenFake.counters.create).toBe(0);
  });

  it('cancels when Codegen does not know the repository', async () => {
    codegenFake.setRepositories(['someone-else/repo']);
    const reason = await refusal(await trigger());
    expect(reason).toMatch(/^Codegen does not know the repository octo-org\/app/);
  });

  describe('policy refusals', () => {
    it('a closed pull request', async () => {
      githubFake.setPullRequest(REPOSITORY, 7, { headSha: HEAD, state: 'closed' });
      expect(await refusal(await trigger())).toBe('pull request is closed');
    });

    it('a pull request whose head moved on', async () => {
      githubFake.setPullRequest(REPOSITORY, 7, { headSha: 'b'.repeat(40) });
      expect(await refusal(await trigger())).toBe(`stale: head is now ${'b'.repeat(40)}`);
    });

    it('the skip label', async () => {
      githubFake.setPullRequest(REPOSITORY, 7, { headSha: HEAD, labels: ['No-Agent'] });
      expect(await refusal(await trigger())).toBe(
        'label "no-agent" turns agent runs off for this pull request',
      );
    });

    it('an author the trust gate does not trust, unless the opt-in label is on', async () => {
      githubFake.setPullRequest(REPOSITORY, 7, {
        headSha: HEAD,
        authorAssociation: 'FIRST_TIME_CONTRIBUTOR',
      });
      expect(await refusal(await trigger())).toMatch(/^untrusted: /);
      githubFake.setPullRequest(REPOSITORY, 7, {
        headSha: HEAD,
        authorAssociation: 'FIRST_TIME_CONTRIBUTOR',
        labels: ['agent:allow'],
      });
      const result = await handler.handle((await trigger()).ctx);
      expect(result.waitForAgentRun).toBe(true);
    });

    it('a fork pull request', async () => {
      githubFake.setPullRequest(REPOSITORY, 7, {
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
      githubFake.setCommit(REPOSITORY, HEAD, { authorLogin: 'dependabot[bot]', authorType: 'Bot' });
      expect(await refusal(await trigger({ trigger_kind: 'check_failure' }))).toBe(
        'failing commit was made by bot dependabot[bot] (not on AGENT_BOT_ALLOWLIST)',
      );
    });

    it("the pull request's daily budget", async () => {
      handler = buildHandler({ AGENT_MAX_RUNS_PER_PR_PER_DAY: '1' });
      const first = await trigger();
      expect((await handler.handle(first.ctx)).waitForAgentRun).toBe(true);
      codegenFake.reset();
      githubFake.comments.length = 0;
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
