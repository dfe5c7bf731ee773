import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lookups the operator console makes on every page: deliveries that failed (rare, so a scan of
 * the newest-first index would read most of the table to fill a page) and the audit records of
 * one event or task.
 */
export class ConsoleLookups1796168478869 implements MigrationInterface {
  name = 'ConsoleLookups1796168478869';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX ix_webhook_events_failed_id ON webhook_events (id DESC)
         WHERE error_message IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX ix_audit_log_target_occurred_at ON audit_log (target, occurred_at DESC, id DESC)
         WHERE target IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ix_audit_log_target_occurred_at`);
    await q.query(`DROP INDEX ix_webhook_events_failed_id`);
  }
}
