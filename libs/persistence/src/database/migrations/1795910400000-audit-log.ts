import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `audit_log`: security events and admin actions. Repeated failures of one client in one minute
 * share a row (`aggregate_key` UNIQUE, `count` adds up); admin actions have no key (NULLs never
 * collide). Indexed for newest-first reads by time, type and actor, and for the retention job.
 */
export class AuditLog1795910400000 implements MigrationInterface {
  name = 'AuditLog1795910400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        type varchar(48) NOT NULL,
        outcome varchar(16) NOT NULL,
        actor varchar(200),
        role varchar(16),
        client_address varchar(64),
        target varchar(255),
        reason varchar(64),
        correlation_id varchar(128),
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        count integer NOT NULL DEFAULT 1,
        aggregate_key varchar(64),
        CONSTRAINT uq_audit_log_aggregate_key UNIQUE (aggregate_key),
        CONSTRAINT ck_audit_log_count CHECK (count >= 1)
      )`);
    await q.query(`CREATE INDEX ix_audit_log_occurred_at ON audit_log (occurred_at DESC, id DESC)`);
    await q.query(
      `CREATE INDEX ix_audit_log_type_occurred_at ON audit_log (type, occurred_at DESC, id DESC)`,
    );
    await q.query(
      `CREATE INDEX ix_audit_log_actor_occurred_at ON audit_log (actor, occurred_at DESC, id DESC)
         WHERE actor IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log`);
  }
}
