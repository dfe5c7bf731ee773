import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Revoked API tokens by their `jti`, kept until the longest-lived token with that id would have
 * expired. Every replica reads the same table, so a revocation holds everywhere at once.
 */
export class RevokedTokens1796168835391 implements MigrationInterface {
  name = 'RevokedTokens1796168835391';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE revoked_tokens (
        token_id uuid PRIMARY KEY,
        revoked_at timestamptz NOT NULL DEFAULT now(),
        revoked_by varchar(200),
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX ix_revoked_tokens_expires_at ON revoked_tokens (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE revoked_tokens`);
  }
}
