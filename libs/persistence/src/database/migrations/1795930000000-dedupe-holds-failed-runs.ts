import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A failed agent trigger keeps its dedupe key. Its run may exist at Codegen (a create that got
 * no answer), so a later failure on the same commit must not start a second run; an operator
 * retries the failed task instead. Only cancelled triggers (skipped by policy, superseded) free
 * the key.
 */
export class DedupeHoldsFailedRuns1795930000000 implements MigrationInterface {
  name = 'DedupeHoldsFailedRuns1795930000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX uq_workflow_tasks_live_dedupe`);
    await q.query(`
      CREATE UNIQUE INDEX uq_workflow_tasks_live_dedupe ON workflow_tasks (dedupe_key)
      WHERE dedupe_key IS NOT NULL AND status <> 'cancelled'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX uq_workflow_tasks_live_dedupe`);
    await q.query(`
      CREATE UNIQUE INDEX uq_workflow_tasks_live_dedupe ON workflow_tasks (dedupe_key)
      WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'queued', 'running', 'completed')`);
  }
}
