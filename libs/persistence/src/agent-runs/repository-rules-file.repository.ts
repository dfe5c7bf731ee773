import { DataSource } from 'typeorm';
import type { RepositoryRulesFile, RuleOverrides } from '@app/domain';

/** The last read of a repository's rules file. */
export interface StoredRulesFile {
  file: RepositoryRulesFile;
  fetchedAt: Date;
  /** A push to the default branch touched the file since it was read. */
  stale: boolean;
}

/**
 * The `repository_rules_files` table: each repository's `.github/webhook-orchestrator.yml` as
 * last read from its default branch, shared by every worker (and read by the rules dry-run).
 */
export class RepositoryRulesFileRepository {
  constructor(private readonly dataSource: DataSource) {}

  async find(repository: string): Promise<StoredRulesFile | null> {
    const rows = await this.dataSource.query<
      Array<{
        status: 'absent' | 'valid' | 'invalid';
        blob_sha: string | null;
        overrides: RuleOverrides;
        problem: string | null;
        stale: boolean;
        fetched_at: Date;
      }>
    >(
      `SELECT status, blob_sha, overrides, problem, stale, fetched_at
       FROM repository_rules_files WHERE repository = $1`,
      [repository.toLowerCase()],
    );
    const row = rows[0];
    if (!row) return null;
    const sha = row.blob_sha ?? '';
    const file: RepositoryRulesFile =
      row.status === 'absent'
        ? { status: 'absent' }
        : row.status === 'valid'
          ? { status: 'valid', sha, overrides: row.overrides }
          : { status: 'invalid', sha, problem: row.problem ?? 'unreadable' };
    return { file, fetchedAt: new Date(row.fetched_at), stale: row.stale };
  }

  /** Stores a fresh read (clears `stale`). */
  async save(repository: string, file: RepositoryRulesFile): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO repository_rules_files (repository, status, blob_sha, overrides, problem, stale, fetched_at, updated_at)
       VALUES ($1, $2, $3, $4::jsonb, $5, false, now(), now())
       ON CONFLICT (repository) DO UPDATE SET status = EXCLUDED.status, blob_sha = EXCLUDED.blob_sha,
         overrides = EXCLUDED.overrides, problem = EXCLUDED.problem, stale = false,
         fetched_at = now(), updated_at = now()`,
      [
        repository.toLowerCase(),
        file.status,
        file.status === 'absent' ? null : file.sha,
        JSON.stringify(file.status === 'valid' ? file.overrides : {}),
        file.status === 'invalid' ? file.problem.slice(0, 2000) : null,
      ],
    );
  }

  /** A push to the default branch touched the file: every worker reads it again next time. */
  async markStale(repository: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE repository_rules_files SET stale = true, updated_at = now() WHERE repository = $1`,
      [repository.toLowerCase()],
    );
  }
}
