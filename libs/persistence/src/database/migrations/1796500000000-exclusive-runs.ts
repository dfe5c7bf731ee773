import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bookkeeping for work that must run on one replica at a time. `exclusive_runs` logs each run of
 * such a job (the relay pass, a delivery recovery pass, a retention pass) by the replica holding
 * its advisory lock, with when it started and finished, so overlaps can be ruled out from the
 * record. `codegen_create_requests` logs every agent-run create the workers send, so Codegen's
 * per-minute limit holds over any sliding minute across all workers.
 */
export class ExclusiveRuns1796500000000 implements MigrationInterface {
  name = 'ExclusiveRuns1796500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE exclusive_runs (
        id bigserial PRIMARY KEY,
        job varchar(64) NOT NULL,
        holder varchar(128) NOT NULL,
        started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        finished_at timestamptz,
        outcome varchar(32)
      )`);
    await q.query(`CREATE INDEX ix_exclusive_runs_job_started ON exclusive_runs (job, started_at)`);
    await q.query(`
      CREATE TABLE codegen_create_requests (
        id bigserial PRIMARY KEY,
        task_id uuid NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(
      `CREATE INDEX ix_codegen_create_requests_at ON codegen_create_requests (requested_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE codegen_create_requests`);
    await q.query(`DROP TABLE exclusive_runs`);
  }
}
