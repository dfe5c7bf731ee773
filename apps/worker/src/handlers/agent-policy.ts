import { Inject, Injectable } from '@nestjs/common';
import { ExternalServiceError } from '@app/platform';
import { TaskRepository, WebhookEventEntity, WorkflowTaskEntity } from '@app/persistence';
import { GithubClient } from '@app/github';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';

/**
 * The checks made right before an agent run starts. Each refusal is a reason the task is
 * cancelled with, so an operator can see why no run started:
 * - the PR is closed, its head moved on (stale SHA), or it carries the skip label;
 * - the event was sent by a bot, or (for check failures) the failing commit was made by a bot,
 *   that is not on the allow-list — this is what stops the agent from reacting to itself;
 * - the PR already had AGENT_MAX_RUNS_PER_PR_PER_DAY runs in 24 hours (runaway guard).
 */
@Injectable()
export class AgentPolicy {
  constructor(
    private readonly github: GithubClient,
    private readonly tasks: TaskRepository,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  async refusal(
    task: WorkflowTaskEntity,
    event: WebhookEventEntity | null,
  ): Promise<string | null> {
    const { agent } = this.config;
    const github = this.github.forInstallation(event?.installationId ?? null);
    const rules = this.config.rules.forRepository(task.repository);
    if (!rules.agentRuns)
      return 'agent runs are turned off for this repository by the workflow rules';
    const allowed = (login: string | null): boolean =>
      login !== null && rules.botAllowlist.includes(login.toLowerCase());
    const sender = senderOf(event);
    const triggerKind =
      typeof task.inputData.trigger_kind === 'string'
        ? task.inputData.trigger_kind
        : 'pull_request';
    if (triggerKind === 'pull_request' && sender.type === 'Bot' && !allowed(sender.login)) {
      return `event sent by bot ${sender.login ?? 'unknown'} (not on AGENT_BOT_ALLOWLIST)`;
    }
    if (!task.repository || task.prNumber === null) return null;

    let pr;
    try {
      pr = await github.getPullRequest(task.repository, task.prNumber);
    } catch (error) {
      if (error instanceof ExternalServiceError && error.status === 404)
        return 'pull request not found';
      throw error;
    }
    if (pr.state !== 'open') return `pull request is ${pr.state}`;
    if (task.commitSha && pr.headSha.toLowerCase() !== task.commitSha.toLowerCase()) {
      return `stale: head is now ${pr.headSha}`;
    }
    const skip = pr.labels.find((l) => rules.skipLabels.includes(l.toLowerCase()));
    if (skip !== undefined) {
      return `label "${skip.toLowerCase()}" turns agent runs off for this pull request`;
    }

    if (triggerKind === 'check_failure' && task.commitSha) {
      const commit = await github.getCommit(task.repository, task.commitSha);
      for (const [login, type] of [
        [commit.authorLogin, commit.authorType],
        [commit.committerLogin, commit.committerType],
      ] as const) {
        // GitHub's own web-flow committer is not an author of changes.
        if (type === 'Bot' && login !== 'web-flow' && !allowed(login)) {
          return `failing commit was made by bot ${login ?? 'unknown'} (not on AGENT_BOT_ALLOWLIST)`;
        }
      }
    }
    const recent = await this.tasks.countRecentAgentRuns(task.repository, task.prNumber);
    if (recent >= agent.maxRunsPerPrPerDay) {
      return `runaway guard: ${recent} agent run(s) for this pull request in 24 hours (AGENT_MAX_RUNS_PER_PR_PER_DAY=${agent.maxRunsPerPrPerDay})`;
    }
    return null;
  }
}

function senderOf(event: WebhookEventEntity | null): { login: string | null; type: string | null } {
  const payload = event?.payload;
  if (typeof payload !== 'object' || payload === null) return { login: null, type: null };
  const sender = (payload as { sender?: unknown }).sender;
  if (typeof sender !== 'object' || sender === null) return { login: null, type: null };
  const { login, type } = sender as { login?: unknown; type?: unknown };
  return {
    login: typeof login === 'string' ? login : null,
    type: typeof type === 'string' ? type : null,
  };
}
