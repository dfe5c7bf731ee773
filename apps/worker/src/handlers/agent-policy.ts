import { Inject, Injectable } from '@nestjs/common';
import { codegenPullRequestReason, decideAgentTrust } from '@app/domain';
import { ExternalServiceError } from '@app/platform';
import {
  AgentBudgetRepository,
  AgentRunOutcomeRepository,
  AgentRunRepository,
  WebhookEventEntity,
  WorkflowTaskEntity,
} from '@app/persistence';
import { GithubClient } from '@app/github';
import { AgentTrustTelemetry } from '../agents/agent-trust-telemetry';
import { RepositoryRulesService } from '../agents/repository-rules.service';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';

/**
 * The checks made right before an agent run starts. Each refusal is a reason the task is
 * cancelled with, so an operator can see why no run started:
 * - the rules (server, narrowed by the repository's own file) turn agent runs or the event off;
 * - the PR is closed, its head moved on (stale SHA), or it carries a skip label;
 * - the trust gate: a fork PR, or an author who is not OWNER/MEMBER/COLLABORATOR, without the
 *   opt-in label (`untrusted: …`); a fork PR whose prompt would push to its branch;
 * - the event was sent by a bot, or (for check failures) the failing commit was made by a bot,
 *   that is not on the allow-list — this is what stops the agent from reacting to itself;
 * - a check failure on a pull request Codegen's agent opened (its own auto-fixer handles it);
 * - a budget is spent (`budget: …`): the PR's runs in 24 hours, the repository's or the PR
 *   author's runs today (UTC). Passing every check counts the run against the budgets.
 */
@Injectable()
export class AgentPolicy {
  constructor(
    private readonly github: GithubClient,
    private readonly agentRuns: AgentRunRepository,
    private readonly outcomes: AgentRunOutcomeRepository,
    private readonly budgets: AgentBudgetRepository,
    private readonly repositoryRules: RepositoryRulesService,
    private readonly telemetry: AgentTrustTelemetry,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
  ) {}

  async refusal(
    task: WorkflowTaskEntity,
    event: WebhookEventEntity | null,
  ): Promise<string | null> {
    const { agent } = this.config;
    const installationId = event?.installationId ?? null;
    const github = this.github.forInstallation(installationId);
    // Analyses create triggers only for a pull request; a trigger without one was written by
    // hand (an operator, a test) and has no pull request to judge.
    if (!task.repository || task.prNumber === null) return null;
    const effective = await this.repositoryRules.forRepository(
      task.repository,
      installationId,
      defaultBranchOf(event),
    );
    const { rules, sources } = effective;
    // A broken file may have meant to turn something off: no agent run until it is fixed (the
    // server's rules still drive analysis). The warning and audit record were written on read.
    if (effective.file.status === 'invalid')
      return `repository rules file ignored (${effective.file.problem}): no agent run until .github/webhook-orchestrator.yml is fixed`;
    if (!rules.agentRuns)
      return sources.agentRuns === 'repository file'
        ? 'agent runs are turned off for this repository by its .github/webhook-orchestrator.yml'
        : 'agent runs are turned off for this repository by the workflow rules';
    if (event && !rules.events.includes(event.eventType))
      return `${event.eventType} events are turned off for this repository by ${sources.events === 'repository file' ? 'its .github/webhook-orchestrator.yml' : 'the workflow rules'}`;
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

    const trust = decideAgentTrust(
      {
        authorAssociation: pr.authorAssociation,
        headRepository: pr.headRepository,
        baseRepository: pr.baseRepository ?? task.repository,
        labels: pr.labels,
      },
      { gate: rules.trustGate, trustLabel: rules.trustLabel },
    );
    if (!trust.trusted) {
      this.telemetry.untrustedStopped(trust.fork ? 'fork' : 'author_association');
      return trust.reason;
    }
    if (trust.fork && task.inputData.push_target !== 'new_pull_request') {
      // Never an agent pushing to a fork's branch name in the base repository.
      this.telemetry.untrustedStopped('fork');
      return "untrusted: fork pull request (its prompt would push to the fork's branch)";
    }

    // A follow-up after the agent's own commit failed again is the one run that may react to
    // the agent's work: it skips the bot guards below (and only them; budgets still count).
    const followUp = typeof task.inputData.follow_up_of === 'string';
    if (triggerKind === 'check_failure' && !agent.fixCodegenPullRequests && !followUp) {
      const codegen = codegenPullRequestReason(
        { authorLogin: pr.authorLogin, headRef: pr.headRef, fork: trust.fork },
        { authorLogins: agent.codegenAuthors, branchPrefix: agent.codegenBranchPrefix },
      );
      if (codegen !== null) return `codegen pull request: ${codegen}`;
    }

    if (triggerKind === 'check_failure' && task.commitSha && !followUp) {
      // Whoever the commit names as author: a failure on an agent run's own commit is judged on
      // that run's outcome, which asks for the one follow-up; no second, unrelated run.
      const pushedBy = await this.outcomes.runThatPushed(task.repository, task.commitSha);
      if (pushedBy !== null)
        return `failing commit was pushed by agent run task ${pushedBy}: its outcome decides the follow-up (AGENT_MAX_FOLLOW_UPS)`;
    }
    if (triggerKind === 'check_failure' && task.commitSha && !followUp) {
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
    const recent = await this.agentRuns.countRecentAgentRuns(task.repository, task.prNumber);
    if (recent >= agent.maxRunsPerPrPerDay) {
      this.telemetry.budgetSpent('pull_request');
      return `budget: pull request (${recent} agent run(s) for this pull request in 24 hours, AGENT_MAX_RUNS_PER_PR_PER_DAY=${agent.maxRunsPerPrPerDay}; runaway guard)`;
    }
    // Dry runs start nothing, so they spend nothing.
    if (this.config.codegen.dryRun) return null;
    const overBudget = await this.budgets.reserve({
      taskId: task.taskId,
      repository: task.repository,
      author: pr.authorLogin,
      limits: {
        perRepository: rules.maxRunsPerRepoPerDay,
        perAuthor: rules.maxRunsPerAuthorPerDay,
      },
    });
    if (overBudget) {
      this.telemetry.budgetSpent(overBudget.kind);
      return overBudget.reason;
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

/** `repository.default_branch` of the event, when it names one. */
export function defaultBranchOf(event: WebhookEventEntity | null): string | null {
  const repository = (event?.payload as { repository?: { default_branch?: unknown } } | undefined)
    ?.repository;
  const branch = repository?.default_branch;
  return typeof branch === 'string' && /^[A-Za-z0-9._/-]{1,255}$/.test(branch) ? branch : null;
}
