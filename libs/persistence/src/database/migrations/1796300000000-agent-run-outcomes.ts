import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `agent_run_outcomes`: one row per agent run started for a failing check or suite, followed to
 * the checks that judge it (pending → fixed | still_failing | superseded | no_change |
 * run_failed). Written only by AgentRunOutcomeRepository.
 * - Pending rows are few and are looked up by (repository, PR) for every check and synchronize
 *   delivery: a partial index keeps that lookup small.
 * - The operator list and summary read by repository and time, by outcome and by time.
 */
export class AgentRunOutcomes1796300000000 implements MigrationInterface {
  name = 'AgentRunOutcomes1796300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agent_run_outcomes (
        id bigserial PRIMARY KEY,
        task_id uuid NOT NULL REFERENCES workflow_tasks (task_id) ON DELETE CASCADE,
        repository varchar(255) NOT NULL,
        pr_number integer,
        trigger_kind varchar(32) NOT NULL,
        check_scope varchar(16) NOT NULL DEFAULT 'check_run',
        failing_checks text[] NOT NULL DEFAULT '{}',
        failing_check_completed_at timestamptz,
        head_sha varchar(64) NOT NULL,
        codegen_run_id varchar(128),
        codegen_status varchar(64),
        web_url text,
        agent_pr_numbers integer[] NOT NULL DEFAULT '{}',
        agent_head_sha varchar(64),
        observations jsonb NOT NULL DEFAULT '[]'::jsonb,
        outcome varchar(16) NOT NULL DEFAULT 'pending',
        judged_sha varchar(64),
        failed_again text[] NOT NULL DEFAULT '{}',
        time_to_green_seconds integer,
        follow_up_of uuid REFERENCES workflow_tasks (task_id) ON DELETE SET NULL,
        follow_up_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        judged_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_agent_run_outcomes_task_id UNIQUE (task_id),
        CONSTRAINT ck_agent_run_outcomes_outcome CHECK (outcome IN
          ('pending', 'fixed', 'still_failing', 'superseded', 'no_change', 'run_failed')),
        CONSTRAINT ck_agent_run_outcomes_check_scope CHECK (check_scope IN ('check_run', 'check_suite')),
        CONSTRAINT ck_agent_run_outcomes_time_to_green CHECK (time_to_green_seconds >= 0),
        CONSTRAINT ck_agent_run_outcomes_follow_up_count CHECK (follow_up_count >= 0)
      )`);
    await q.query(`
      CREATE INDEX ix_agent_run_outcomes_pending_pr ON agent_run_outcomes (repository, pr_number)
      WHERE outcome = 'pending'`);
    await q.query(`
      CREATE INDEX ix_agent_run_outcomes_pending_finished ON agent_run_outcomes (finished_at)
      WHERE outcome = 'pending'`);
    await q.query(
      `CREATE INDEX ix_agent_run_outcomes_repository_created ON agent_run_outcomes (repository, created_at DESC)`,
    );
    await q.query(
      `CREATE INDEX ix_agent_run_outcomes_outcome_created ON agent_run_outcomes (outcome, created_at DESC)`,
    );
    await q.query(
      `CREATE INDEX ix_agent_run_outcomes_created ON agent_run_outcomes (created_at DESC)`,
    );
    await q.query(
      `CREATE INDEX ix_agent_run_outcomes_follow_up_of ON agent_run_outcomes (follow_up_of)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE agent_run_outcomes`);
  }
}
