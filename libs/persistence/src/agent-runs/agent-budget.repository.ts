import { DataSource } from 'typeorm';
import { AgentBudgetLimits, AgentBudgetRefusal, agentBudgetRefusal, budgetDay } from '@app/domain';

/** Advisory-lock classes (first key of the two-key form), so lock keys of kinds never collide. */
const LOCK_REPOSITORY = 1_414_680_001;
const LOCK_AUTHOR = 1_414_680_002;

/**
 * A spend row counts while its trigger may have started a run: a trigger that ended failed or
 * cancelled with no run id and no request in flight gave its place back.
 */
const COUNTED = `NOT (t.status IN ('failed', 'cancelled') AND t.codegen_task_id IS NULL
  AND t.agent_run_requested_at IS NULL)`;

export interface BudgetReservation {
  taskId: string;
  repository: string;
  /** The PR author's login; null when unknown (the author budget then does not apply). */
  author: string | null;
  limits: AgentBudgetLimits;
  at?: Date;
}

/** Today's spend of one repository, for the operator API. */
export interface RepositorySpend {
  repository: string;
  runs: number;
  /** The repository budget in force at its latest counted run. */
  limit: number;
  authors: Array<{ author: string; runs: number }>;
}

/**
 * The `agent_run_spend` table: daily (UTC) agent-run budgets per repository and per PR author,
 * counted in PostgreSQL so every worker sees the same numbers.
 */
export class AgentBudgetRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Counts one agent run against today's budgets, or refuses it. Race-safe across workers:
   * one transaction takes the repository's and the author's advisory locks (always in that
   * order), counts, and inserts. A trigger counts once however many attempts it takes.
   */
  async reserve(input: BudgetReservation): Promise<AgentBudgetRefusal | null> {
    const day = budgetDay(input.at ?? new Date());
    const repository = input.repository.toLowerCase();
    const author = input.author?.toLowerCase() ?? null;
    return this.dataSource.transaction(async (m) => {
      await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        LOCK_REPOSITORY,
        repository,
      ]);
      if (author !== null)
        await m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_AUTHOR, author]);
      const existing = await m.query<unknown[]>(
        'SELECT 1 FROM agent_run_spend WHERE task_id = $1',
        [input.taskId],
      );
      if (existing.length > 0) return null;
      const [counts] = await m.query<Array<{ repository: string; author: string }>>(
        `SELECT count(*) FILTER (WHERE s.repository = $2) AS repository,
                count(*) FILTER (WHERE s.author = $3) AS author
         FROM agent_run_spend s JOIN workflow_tasks t ON t.task_id = s.task_id
         WHERE s.day = $1 AND (s.repository = $2 OR s.author = $3) AND ${COUNTED}`,
        [day, repository, author],
      );
      const refusal = agentBudgetRefusal(
        {
          repository: Number(counts.repository),
          author: author === null ? null : Number(counts.author),
        },
        input.limits,
        { repository: input.repository, author: input.author },
      );
      if (refusal) return refusal;
      await m.query(
        `INSERT INTO agent_run_spend (task_id, day, repository, author, repository_limit, author_limit)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [input.taskId, day, repository, author, input.limits.perRepository, input.limits.perAuthor],
      );
      return null;
    });
  }

  /** Today's (UTC) counted runs per repository, most spent first, with their authors. */
  async spendOn(day: string): Promise<RepositorySpend[]> {
    const rows = await this.dataSource.query<
      Array<{ repository: string; author: string | null; runs: string; latest_limit: number }>
    >(
      `SELECT s.repository, s.author, count(*) AS runs,
              (array_agg(s.repository_limit ORDER BY s.created_at DESC))[1] AS latest_limit
       FROM agent_run_spend s JOIN workflow_tasks t ON t.task_id = s.task_id
       WHERE s.day = $1 AND ${COUNTED}
       GROUP BY s.repository, s.author`,
      [day],
    );
    const byRepository = new Map<string, RepositorySpend>();
    for (const row of rows) {
      const entry = byRepository.get(row.repository) ?? {
        repository: row.repository,
        runs: 0,
        limit: row.latest_limit,
        authors: [],
      };
      entry.runs += Number(row.runs);
      if (row.author !== null) entry.authors.push({ author: row.author, runs: Number(row.runs) });
      byRepository.set(row.repository, entry);
    }
    const out = [...byRepository.values()];
    for (const entry of out)
      entry.authors.sort((a, b) => b.runs - a.runs || a.author.localeCompare(b.author));
    return out.sort((a, b) => b.runs - a.runs || a.repository.localeCompare(b.repository));
  }
}
