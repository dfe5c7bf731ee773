import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The payload replay guard: the SHA-256 of each stored webhook body with the delivery id that
 * brought it. A signed body repeated under a new delivery id within the replay window is refused;
 * the intake writes this row in the same statement as its event, and retention prunes old rows.
 */
export class WebhookPayloadDigests1796600000000 implements MigrationInterface {
  name = 'WebhookPayloadDigests1796600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE IF NOT EXISTS webhook_payload_digests (
        digest bytea PRIMARY KEY,
        delivery_id varchar(64) NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX IF NOT EXISTS ix_webhook_payload_digests_stored_at
         ON webhook_payload_digests (stored_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS webhook_payload_digests`);
  }
}
