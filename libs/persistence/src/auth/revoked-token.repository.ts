import type { DataSource } from 'typeorm';

export interface Revocation {
  tokenId: string;
  revokedAt: Date;
  /** Until when the id is refused: the longest a token with it could still live. */
  keptUntil: Date;
}

/**
 * The `revoked_tokens` table: ids refused by the auth guard on every replica. Rows past their
 * `expires_at` name tokens that have expired anyway; each revocation deletes them.
 */
export class RevokedTokenRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Records the revocation (again: the first time and actor are kept, the expiry is extended). */
  async revoke(tokenId: string, revokedBy: string, keepSeconds: number): Promise<Revocation> {
    await this.dataSource.query(`DELETE FROM revoked_tokens WHERE expires_at < now()`);
    const rows = await this.dataSource.query<
      Array<{ token_id: string; revoked_at: Date; expires_at: Date }>
    >(
      `INSERT INTO revoked_tokens (token_id, revoked_by, expires_at)
       VALUES ($1, $2, now() + $3 * interval '1 second')
       ON CONFLICT (token_id) DO UPDATE
         SET expires_at = GREATEST(revoked_tokens.expires_at, EXCLUDED.expires_at)
       RETURNING token_id, revoked_at, expires_at`,
      [tokenId, revokedBy.slice(0, 200), keepSeconds],
    );
    return {
      tokenId: rows[0].token_id,
      revokedAt: rows[0].revoked_at,
      keptUntil: rows[0].expires_at,
    };
  }

  /** True when the id was revoked (one primary-key lookup per authenticated request). */
  async isRevoked(tokenId: string): Promise<boolean> {
    const rows = await this.dataSource.query<unknown[]>(
      `SELECT 1 FROM revoked_tokens WHERE token_id = $1`,
      [tokenId],
    );
    return rows.length > 0;
  }
}
