import { Inject, Injectable } from '@nestjs/common';
import { budgetDay } from '@app/domain';
import { DomainError, ErrorCode } from '@app/platform';
import {
  AgentBudgetRepository,
  AgentRunListRow,
  AgentRunOutcomeQueries,
  OutcomeFigures,
} from '@app/persistence';
import { ORCHESTRATOR_CONFIG, OrchestratorConfig } from '../config/orchestrator.config';
import { AgentRunBudgetDto } from './dto/agent-run-budget.dto';
import {
  AgentRunDto,
  AgentRunSummaryDto,
  AgentRunSummaryQuery,
  ListAgentRunsQuery,
  OutcomeFiguresDto,
} from './dto/agent-run-outcome.dto';

/** Repositories listed in a summary, most runs first. */
export const SUMMARY_REPOSITORY_LIMIT = 100;
/** Check names listed in a summary, most runs first. */
export const SUMMARY_CHECK_LIMIT = 20;

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_LOOK_BACK_MS = 366 * UNIT_MS.d;

@Injectable()
export class AgentRunsService {
  constructor(
    private readonly budgets: AgentBudgetRepository,
    private readonly outcomes: AgentRunOutcomeQueries,
    @Inject(ORCHESTRATOR_CONFIG) private readonly config: OrchestratorConfig,
  ) {}

  async budget(now = new Date()): Promise<AgentRunBudgetDto> {
    const day = budgetDay(now);
    const defaults = this.config.rules.forRepository(null);
    const spend = await this.budgets.spendOn(day);
    return {
      day,
      max_runs_per_repo_per_day: defaults.maxRunsPerRepoPerDay,
      max_runs_per_author_per_day: defaults.maxRunsPerAuthorPerDay,
      repositories: spend.map((s) => ({
        repository: s.repository,
        runs: s.runs,
        limit: s.limit,
        remaining: Math.max(0, s.limit - s.runs),
        authors: s.authors,
      })),
    };
  }

  async list(query: ListAgentRunsQuery, now = new Date()): Promise<AgentRunDto[]> {
    const rows = await this.outcomes.list(
      {
        repository: query.repository,
        outcome: query.outcome,
        since: query.since === undefined ? undefined : sinceInstant(query.since, now),
      },
      { limit: query.limit, offset: query.offset },
    );
    return rows.map(toAgentRun);
  }

  async summary(query: AgentRunSummaryQuery, now = new Date()): Promise<AgentRunSummaryDto> {
    const since = sinceInstant(query.since, now);
    const figures = await this.outcomes.summary(
      { since, repository: query.repository },
      { repositoryLimit: SUMMARY_REPOSITORY_LIMIT, checkLimit: SUMMARY_CHECK_LIMIT },
    );
    return {
      since: since.toISOString(),
      repository: query.repository?.toLowerCase() ?? null,
      overall: toFigures(figures.overall),
      repositories: figures.repositories.map((r) => ({
        repository: r.repository,
        ...toFigures(r),
      })),
      repository_count: figures.repositoryCount,
      checks: figures.checks.map((c) => ({ check: c.check, ...toFigures(c) })),
    };
  }
}

/**
 * The instant a `since` value names: `now` minus a look-back (`30m`, `24h`, `7d`), or an ISO
 * 8601 date or date-time (the DTO has checked its shape). A look-back of 0 or over 366 days, or
 * a date that does not exist (`2026-02-30`), is a 400.
 */
export function sinceInstant(since: string, now: Date): Date {
  const lookBack = /^(\d+)([mhd])$/.exec(since);
  if (lookBack) {
    const ms = Number(lookBack[1]) * UNIT_MS[lookBack[2] as keyof typeof UNIT_MS];
    if (ms === 0 || ms > MAX_LOOK_BACK_MS) {
      throw invalid('since must look back more than 0 and at most 366 days (e.g. 7d)');
    }
    return new Date(now.getTime() - ms);
  }
  const instant = new Date(since);
  // Date accepts 2026-02-30 as March 2nd: the date part must survive the round trip.
  const datePart = since.slice(0, 10);
  if (Number.isNaN(instant.getTime()) || !sameCalendarDate(datePart)) {
    throw invalid('since must be a valid date');
  }
  return instant;
}

function sameCalendarDate(date: string): boolean {
  const parsed = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === date;
}

function invalid(detail: string): DomainError {
  return new DomainError(ErrorCode.InvalidInput, 'invalid request', [detail]);
}

function toAgentRun(row: AgentRunListRow): AgentRunDto {
  return {
    task_id: row.taskId,
    repository: row.repository,
    pr_number: row.prNumber,
    trigger_kind: row.triggerKind,
    check_scope: row.checkScope,
    failing_checks: row.failingChecks,
    head_sha: row.headSha,
    codegen_run_id: row.codegenRunId,
    codegen_status: row.codegenStatus,
    web_url: row.webUrl,
    agent_pr_numbers: row.agentPrNumbers,
    outcome: row.outcome,
    still_failing_checks: row.failedAgain,
    time_to_green_seconds: row.timeToGreenSeconds,
    follow_up_of: row.followUpOf,
    created_at: row.createdAt.toISOString(),
    finished_at: row.finishedAt?.toISOString() ?? null,
    judged_at: row.judgedAt?.toISOString() ?? null,
  };
}

function toFigures(f: OutcomeFigures): OutcomeFiguresDto {
  const judged = f.fixed + f.stillFailing + f.noChange + f.runFailed;
  const spent = f.runs - f.pending;
  return {
    runs: f.runs,
    pending: f.pending,
    fixed: f.fixed,
    still_failing: f.stillFailing,
    superseded: f.superseded,
    no_change: f.noChange,
    run_failed: f.runFailed,
    fix_rate: judged === 0 ? null : round(f.fixed / judged, 4),
    time_to_green_median_seconds: roundOrNull(f.timeToGreenMedianSeconds, 1),
    time_to_green_p90_seconds: roundOrNull(f.timeToGreenP90Seconds, 1),
    runs_per_fix: f.fixed === 0 ? null : round(spent / f.fixed, 2),
  };
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function roundOrNull(value: number | null, decimals: number): number | null {
  return value === null ? null : round(value, decimals);
}
