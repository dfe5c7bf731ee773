import { DataSource } from 'typeorm';
import type { AgentOutcome } from '@app/domain';

/** Filters of the operator's agent-run list. */
export interface AgentRunListFilter {
  /** owner/name; compared in lower case, as the outcomes are stored. */
  repository?: string;
  outcome?: AgentOutcome;
  /** Runs created at or after this instant. */
  since?: Date;
}

/** One agent run and what became of it, as the operator list shows it. */
export interface AgentRunListRow {
  taskId: string;
  repository: string;
  prNumber: number | null;
  triggerKind: string;
  checkScope: string;
  failingChecks: string[];
  headSha: string;
  codegenRunId: string | null;
  codegenStatus: string | null;
  webUrl: string | null;
  agentPrNumbers: number[];
  outcome: AgentOutcome;
  failedAgain: string[];
  timeToGreenSeconds: number | null;
  followUpOf: string | null;
  createdAt: Date;
  finishedAt: Date | null;
  judgedAt: Date | null;
}

/** Counts and time-to-green figures of one group of runs (a repository, a check, or all). */
export interface OutcomeFigures {
  runs: number;
  pending: number;
  fixed: number;
  stillFailing: number;
  superseded: number;
  noChange: number;
  runFailed: number;
  /** Median time to green of the fixed runs, in seconds; null when none has one. */
  timeToGreenMedianSeconds: number | null;
  /** 90th percentile (interpolated, like the median) of the same. */
  timeToGreenP90Seconds: number | null;
}

export interface AgentRunSummaryFigures {
  overall: OutcomeFigures;
  /** Per repository, most runs first (ties by name), at most `repositoryLimit`. */
  repositories: Array<OutcomeFigures & { repository: string }>;
  /** How many repositories had runs in the window (the list may be cut at `repositoryLimit`). */
  repositoryCount: number;
  /** Per failing check name, most runs first (ties by name), at most `checkLimit`. */
  checks: Array<OutcomeFigures & { check: string }>;
}

interface ListRow {
  task_id: string;
  repository: string;
  pr_number: number | null;
  trigger_kind: string;
  check_scope: string;
  failing_checks: string[];
  head_sha: string;
  codegen_run_id: string | null;
  codegen_status: string | null;
  web_url: string | null;
  agent_pr_numbers: number[];
  outcome: AgentOutcome;
  failed_again: string[];
  time_to_green_seconds: number | null;
  follow_up_of: string | null;
  created_at: Date;
  finished_at: Date | null;
  judged_at: Date | null;
}

/** Aggregate columns of a group of runs; `percentile_cont` skips runs without a time to green. */
const FIGURES = `count(*)::int AS runs,
  count(*) FILTER (WHERE outcome = 'pending')::int AS pending,
  count(*) FILTER (WHERE outcome = 'fixed')::int AS fixed,
  count(*) FILTER (WHERE outcome = 'still_failing')::int AS still_failing,
  count(*) FILTER (WHERE outcome = 'superseded')::int AS superseded,
  count(*) FILTER (WHERE outcome = 'no_change')::int AS no_change,
  count(*) FILTER (WHERE outcome = 'run_failed')::int AS run_failed,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY time_to_green_seconds)
    FILTER (WHERE outcome = 'fixed') AS ttg_median,
  percentile_cont(0.9) WITHIN GROUP (ORDER BY time_to_green_seconds)
    FILTER (WHERE outcome = 'fixed') AS ttg_p90`;

interface FiguresRow {
  runs: number;
  pending: number;
  fixed: number;
  still_failing: number;
  superseded: number;
  no_change: number;
  run_failed: number;
  ttg_median: number | null;
  ttg_p90: number | null;
}

/**
 * Read queries of the operator API over `agent_run_outcomes` (the table is written by
 * AgentRunOutcomeRepository only). Every figure is computed in PostgreSQL: a summary reads the
 * window's rows once per grouping and returns a few rows, whatever the number of runs.
 */
export class AgentRunOutcomeQueries {
  constructor(private readonly dataSource: DataSource) {}

  /** Agent runs newest first (ties: the later stored first), filtered and paged. */
  async list(
    filter: AgentRunListFilter,
    page: { limit: number; offset: number },
  ): Promise<AgentRunListRow[]> {
    const { where, params } = windowFilter(filter);
    if (filter.outcome !== undefined) {
      params.push(filter.outcome);
      where.push(`outcome = $${params.length}`);
    }
    params.push(page.limit, page.offset);
    const rows = await this.dataSource.query<ListRow[]>(
      `SELECT task_id, repository, pr_number, trigger_kind, check_scope, failing_checks,
              head_sha, codegen_run_id, codegen_status, web_url, agent_pr_numbers, outcome,
              failed_again, time_to_green_seconds, follow_up_of, created_at, finished_at,
              judged_at
         FROM agent_run_outcomes
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC
        LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      taskId: r.task_id,
      repository: r.repository,
      prNumber: r.pr_number,
      triggerKind: r.trigger_kind,
      checkScope: r.check_scope,
      failingChecks: r.failing_checks,
      headSha: r.head_sha,
      codegenRunId: r.codegen_run_id,
      codegenStatus: r.codegen_status,
      webUrl: r.web_url,
      agentPrNumbers: r.agent_pr_numbers,
      outcome: r.outcome,
      failedAgain: r.failed_again,
      timeToGreenSeconds: r.time_to_green_seconds,
      followUpOf: r.follow_up_of,
      createdAt: new Date(r.created_at),
      finishedAt: r.finished_at ? new Date(r.finished_at) : null,
      judgedAt: r.judged_at ? new Date(r.judged_at) : null,
    }));
  }

  /**
   * Outcome counts and time to green of the runs created since `filter.since`: overall, per
   * repository (most runs first) and per failing check name (a run sent for two checks counts
   * for each).
   */
  async summary(
    filter: { since: Date; repository?: string },
    limits: { repositoryLimit: number; checkLimit: number },
  ): Promise<AgentRunSummaryFigures> {
    const { where, params } = windowFilter(filter);
    const inWindow = `FROM agent_run_outcomes WHERE ${where.join(' AND ')}`;
    // One pass for the overall figures and every repository's (GROUPING SETS); the repository
    // list is cut in the same statement, so a window of many repositories returns a few rows.
    // The two statements run side by side (two pool connections): the answer waits for the
    // slower one only.
    const [grouped, checks] = await Promise.all([
      this.dataSource.query<
        Array<FiguresRow & { repository: string | null; overall: number; repository_count: number }>
      >(
        `WITH groups AS (
         SELECT repository, GROUPING(repository) AS overall, ${FIGURES}
           ${inWindow}
          GROUP BY GROUPING SETS ((), (repository))
       )
       SELECT g.*, (SELECT count(*) FROM groups WHERE overall = 0)::int AS repository_count
         FROM groups g
        WHERE g.overall = 1
           OR g.repository IN (SELECT repository FROM groups WHERE overall = 0
                                ORDER BY runs DESC, repository LIMIT $${params.length + 1})
        ORDER BY g.overall DESC, g.runs DESC, g.repository`,
        [...params, limits.repositoryLimit],
      ),
      this.dataSource.query<Array<FiguresRow & { check_name: string }>>(
        `SELECT check_name, ${FIGURES}
         FROM (SELECT unnest(failing_checks) AS check_name, outcome, time_to_green_seconds
                 ${inWindow}) runs
        GROUP BY check_name
        ORDER BY runs DESC, check_name
        LIMIT $${params.length + 1}`,
        [...params, limits.checkLimit],
      ),
    ]);
    const overallRow = grouped.find((r) => r.overall === 1);
    const repositoryRows = grouped.filter((r) => r.overall === 0);
    return {
      overall: overallRow ? figures(overallRow) : emptyFigures(),
      repositories: repositoryRows.map((r) => ({
        repository: r.repository as string,
        ...figures(r),
      })),
      repositoryCount: overallRow?.repository_count ?? 0,
      checks: checks.map((r) => ({ check: r.check_name, ...figures(r) })),
    };
  }
}

function windowFilter(filter: { repository?: string; since?: Date }): {
  where: string[];
  params: unknown[];
} {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.since !== undefined) {
    params.push(filter.since);
    where.push(`created_at >= $${params.length}`);
  }
  if (filter.repository !== undefined) {
    params.push(filter.repository.toLowerCase());
    where.push(`repository = $${params.length}`);
  }
  return { where, params };
}

function figures(row: FiguresRow): OutcomeFigures {
  return {
    runs: row.runs,
    pending: row.pending,
    fixed: row.fixed,
    stillFailing: row.still_failing,
    superseded: row.superseded,
    noChange: row.no_change,
    runFailed: row.run_failed,
    timeToGreenMedianSeconds: row.ttg_median === null ? null : Number(row.ttg_median),
    timeToGreenP90Seconds: row.ttg_p90 === null ? null : Number(row.ttg_p90),
  };
}

function emptyFigures(): OutcomeFigures {
  return {
    runs: 0,
    pending: 0,
    fixed: 0,
    stillFailing: 0,
    superseded: 0,
    noChange: 0,
    runFailed: 0,
    timeToGreenMedianSeconds: null,
    timeToGreenP90Seconds: null,
  };
}
