import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Delivery recovery: how far each webhook's delivery log has been examined (and where an
 * unfinished walk resumes), and every redelivery asked for, so none is asked twice.
 */
export class DeliveryRecovery1795920000000 implements MigrationInterface {
  name = 'DeliveryRecovery1795920000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE delivery_recovery_state (
        source varchar(255) PRIMARY KEY,
        last_delivery_id bigint,
        last_delivered_at timestamptz,
        walk_page_cursor varchar(255),
        walk_max_id bigint,
        walk_min_fresh_id bigint,
        last_run_at timestamptz,
        last_completed_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE delivery_redelivery_requests (
        guid varchar(64) PRIMARY KEY,
        source varchar(255) NOT NULL,
        delivery_id bigint NOT NULL,
        event_type varchar(64),
        action varchar(64),
        status varchar(16) NOT NULL,
        error_message text,
        task_id uuid,
        requested_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_delivery_redelivery_requests_status
          CHECK (status IN ('requesting', 'requested', 'failed'))
      )`);
    await q.query(
      `CREATE INDEX ix_delivery_redelivery_requests_requested_at ON delivery_redelivery_requests (requested_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE delivery_redelivery_requests`);
    await q.query(`DROP TABLE delivery_recovery_state`);
  }
}
