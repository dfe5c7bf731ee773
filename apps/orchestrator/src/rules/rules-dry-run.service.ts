import { Inject, Injectable } from '@nestjs/common';
import {
  AnalysisFacts,
  analysisSkipReason,
  decideAgentTrust,
  EffectiveRules,
  extractEventFacts,
  narrowRules,
  REPOSITORY_RULES_PATH,
  routeWithRules,
  RuleSource,
  TaskDraft,
  TaskType,
} from '@app/domain';
import { RepositoryRulesFileRepository, StoredRulesFile } from '@app/persistence';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import { DryRunRequestDto, DryRunResultDto } from './dto/dry-run.dto';
import { RepositoryRulesFileDto, RuleSourcesDto, TrustDecisionDto } from './dto/agent-trust.dto';

/**
 * What intake would do with a payload, the rules in force for its repository with the source of
 * each value (default, server file, repository file), and the trust gate's decision.
 */
@Injectable()
export class RulesDryRunService {
  constructor(
    @Inject(ORCHESTRATOR_CONFIG) private readonly config: OrchestratorConfig,
    private readonly files: RepositoryRulesFileRepository,
  ) {}

  async dryRun(body: DryRunRequestDto): Promise<DryRunResultDto> {
    const { outcome } = routeWithRules(body.event_type, body.payload, this.config.rules);
    const repository = extractEventFacts(body.payload).repository;
    const stored = repository ? await this.files.find(repository) : null;
    const server = this.config.rules.withSources(repository);
    const narrowed = narrowRules(
      server,
      stored?.file.status === 'valid' ? stored.file.overrides : {},
    );
    const { rules, sources } = narrowed;
    const tasks =
      outcome.kind === 'tasks'
        ? outcome.tasks.map((t) => ({
            task_type: t.taskType,
            repository: t.repository,
            pr_number: t.prNumber,
            branch: t.branch,
            commit_sha: t.commitSha,
            // What the worker applies that intake cannot: the repository file's narrowing.
            skip_reason: analysisSkipReason(factsOf(body.event_type, t), narrowed),
          }))
        : [];
    const status = { tasks: 'queued', ignored: 'ignored', pong: 'pong', installation: 'processed' }[
      outcome.kind
    ];
    return {
      event_type: body.event_type,
      repository,
      status,
      reason: outcome.kind === 'ignored' ? outcome.reason : null,
      tasks,
      rules: {
        events: rules.events,
        push_branches: rules.pushBranches,
        synchronize_code_file_threshold: rules.synchronizeCodeFileThreshold,
        agent_runs: rules.agentRuns,
        skip_labels: rules.skipLabels,
        bot_allowlist: rules.botAllowlist,
        include_cancelled_checks: rules.includeCancelledChecks,
        trust_gate: rules.trustGate,
        trust_label: rules.trustLabel,
        max_runs_per_repo_per_day: rules.maxRunsPerRepoPerDay,
        max_runs_per_author_per_day: rules.maxRunsPerAuthorPerDay,
      },
      rules_file: this.config.rules.sourceFile,
      rule_sources: toSources(sources),
      ...(repository ? { repository_file: toFile(stored, narrowed.ignored) } : {}),
      trust: trustOf(body.event_type, body.payload, rules),
    };
  }
}

/** The facts the worker judges an analysis task by, from the task intake would create. */
function factsOf(eventType: string, task: TaskDraft): AnalysisFacts {
  const conclusion =
    typeof task.inputData.conclusion === 'string' ? task.inputData.conclusion : null;
  switch (task.taskType) {
    case TaskType.PushAnalysis:
      return { eventType, pushBranch: task.branch };
    case TaskType.CheckFailureAnalysis:
      return { eventType, check: { scope: 'check_run', conclusion } };
    case TaskType.CheckSuiteFailureAnalysis:
      return { eventType, check: { scope: 'check_suite', conclusion } };
    case TaskType.PullRequestAnalysis:
    case TaskType.CodegenTrigger:
    case TaskType.Cleanup:
    case TaskType.DeliveryRecovery:
    case TaskType.AgentOutcome:
      return { eventType };
  }
}

function toSources(s: Record<keyof EffectiveRules, RuleSource>): RuleSourcesDto {
  return {
    events: s.events,
    push_branches: s.pushBranches,
    synchronize_code_file_threshold: s.synchronizeCodeFileThreshold,
    agent_runs: s.agentRuns,
    skip_labels: s.skipLabels,
    bot_allowlist: s.botAllowlist,
    include_cancelled_checks: s.includeCancelledChecks,
    trust_gate: s.trustGate,
    trust_label: s.trustLabel,
    max_runs_per_repo_per_day: s.maxRunsPerRepoPerDay,
    max_runs_per_author_per_day: s.maxRunsPerAuthorPerDay,
  };
}

function toFile(stored: StoredRulesFile | null, ignored: string[]): RepositoryRulesFileDto {
  const file = stored?.file;
  return {
    path: REPOSITORY_RULES_PATH,
    status: file?.status ?? 'not_read',
    blob_sha: file && file.status !== 'absent' ? file.sha : null,
    problem: file?.status === 'invalid' ? file.problem : null,
    read_at: stored ? stored.fetchedAt.toISOString() : null,
    stale: stored?.stale ?? false,
    ignored,
  };
}

/** The gate for a `pull_request` payload; other events' PRs are read when the run starts. */
function trustOf(eventType: string, payload: unknown, rules: EffectiveRules): TrustDecisionDto {
  const pr = (payload as { pull_request?: unknown }).pull_request;
  if (eventType !== 'pull_request' || typeof pr !== 'object' || pr === null)
    return {
      decision: 'at_run_time',
      reason:
        'decided when the agent run would start, from the pull request as GitHub reports it then',
      fork: null,
      opted_in: null,
    };
  const p = pr as {
    author_association?: unknown;
    labels?: unknown;
    head?: { repo?: { full_name?: unknown } | null };
    base?: { repo?: { full_name?: unknown } | null };
  };
  const labels = Array.isArray(p.labels)
    ? p.labels
        .map((l) => (l as { name?: unknown } | null)?.name)
        .filter((n): n is string => typeof n === 'string')
    : [];
  const name = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const decision = decideAgentTrust(
    {
      authorAssociation: name(p.author_association),
      headRepository: name(p.head?.repo?.full_name),
      baseRepository:
        name(p.base?.repo?.full_name) ?? extractEventFacts(payload).repository ?? null,
      labels,
    },
    { gate: rules.trustGate, trustLabel: rules.trustLabel },
  );
  return {
    decision: decision.trusted ? 'trusted' : 'untrusted',
    reason: decision.reason,
    fork: decision.fork,
    opted_in: decision.optedIn,
  };
}
