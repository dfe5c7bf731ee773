import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a worker asked Codegen for an agent run. Written before the request and cleared when
 * Codegen provably refused it; a task found with it set and no run id belongs to a worker that
 * died with the request in flight, so the next attempt must not ask again.
 */
export class AgentRunRequested1795940000000 implements MigrationInterface {
  name = 'AgentRunRequested1795940000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workflow_tasks ADD COLUMN agent_run_requested_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workflow_tasks DROP COLUMN agent_run_requested_at`);
  }
}
