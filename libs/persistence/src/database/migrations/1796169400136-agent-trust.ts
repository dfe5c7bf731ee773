import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Agent-run budgets and repositories' own rules files.
 * - `agent_run_spend`: one row per agent trigger that passed every check and counts against
 *   today's (UTC) budgets of its repository and PR author. Counting happens under advisory
 *   locks, so every worker sees the same numbers.
 * - `repository_rules_files`: the last read of each repository's
 *   `.github/webhook-orchestrator.yml` (default branch), shared by every worker and shown by the
 *   rules dry-run; `stale` is set when a push to the default branch touches the file.
 */
export class AgentTrust1796169400136 implements MigrationInterface {
  name = 'AgentTrust1796169400136';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agent_run_spend (
        task_id uuid PRIMARY KEY REFERENCES workflow_tasks (task_id) ON DELETE CASCADE,
        day date NOT NULL,
        repository varchar(255) NOT NULL,
        author varchar(255),
        repository_limit integer NOT NULL,
        author_limit integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX idx_agent_run_spend_day_repository ON agent_run_spend (day, repository)`,
    );
    await q.query(`CREATE INDEX idx_agent_run_spend_day_author ON agent_run_spend (day, author)`);
    await q.query(`
      CREATE TABLE repository_rules_files (
        repository varchar(255) PRIMARY KEY,
        status varchar(16) NOT NULL CHECK (status IN ('absent', 'valid', 'invalid')),
        blob_sha varchar(64),
        overrides jsonb NOT NULL DEFAULT '{}'::jsonb,
        problem text,
        stale boolean NOT NULL DEFAULT false,
        fetched_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE repository_rules_files`);
    await q.query(`DROP TABLE agent_run_spend`);
  }
}
