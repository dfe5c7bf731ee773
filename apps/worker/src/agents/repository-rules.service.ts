import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'winston';
import {
  MAX_REPOSITORY_RULES_BYTES,
  NarrowedRules,
  narrowRules,
  readRepositoryRulesFile,
  REPOSITORY_RULES_PATH,
  RepositoryRulesFile,
} from '@app/domain';
import { AuditType, ExternalServiceError, isTransientError, LOGGER } from '@app/platform';
import { AuditLogRepository, RepositoryRulesFileRepository } from '@app/persistence';
import { GithubClient } from '@app/github';
import { WORKER_CONFIG, WorkerConfig } from '../config/worker.config';

/** The rules in force for one repository, and the repository file they came from. */
export interface RepositoryRules extends NarrowedRules {
  file: RepositoryRulesFile;
}

/**
 * A repository's own rules (`.github/webhook-orchestrator.yml`), read through the contents API
 * at the default branch — never a pull request's head, so a pull request cannot change the rules
 * that judge it — and narrowed under the server's rules. The last read is kept in PostgreSQL for
 * every worker: read again after REPOSITORY_RULES_REFRESH_MS, or at once after a push to the
 * default branch touched the file; an unchanged blob SHA is not parsed again. A file that is
 * huge, binary or not valid rules is ignored with a warning and an audit record (once per blob),
 * and the server's rules apply; nothing is posted anywhere public.
 */
@Injectable()
export class RepositoryRulesService {
  constructor(
    private readonly github: GithubClient,
    private readonly files: RepositoryRulesFileRepository,
    private readonly audit: AuditLogRepository,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async forRepository(
    repository: string,
    installationId: number | null,
    defaultBranch: string | null,
  ): Promise<RepositoryRules> {
    const server = this.config.rules.withSources(repository);
    const file = this.config.repositoryRules.enabled
      ? await this.file(repository, installationId, defaultBranch)
      : ({ status: 'absent' } as const);
    return { ...narrowRules(server, file.status === 'valid' ? file.overrides : {}), file };
  }

  /**
   * The rules an analysis task follows. Like {@link forRepository}, but analysis never waits on
   * the rules file: when GitHub cannot be reached and no earlier read is stored, the server's
   * rules apply and `unreadable` says why (the agent trigger reads the file again, and waits for
   * it, before any run). A file that is not valid rules leaves the server's rules in force.
   */
  async forAnalysis(
    repository: string,
    installationId: number | null,
    defaultBranch: string | null,
  ): Promise<RepositoryRules & { unreadable: string | null }> {
    try {
      return {
        ...(await this.forRepository(repository, installationId, defaultBranch)),
        unreadable: null,
      };
    } catch (error) {
      if (!isTransientError(error)) throw error;
      // A fixed description: GitHub's own words may echo what was sent, and this is stored.
      const unreadable =
        error instanceof ExternalServiceError && error.status !== undefined
          ? `GitHub answered ${error.status}`
          : 'no answer from GitHub (unreachable, timed out or rate limited)';
      this.logger.warn('repository rules file unreadable; server rules apply to this analysis', {
        repository,
        error: error instanceof Error ? error.message : String(error),
      });
      return {
        ...narrowRules(this.config.rules.withSources(repository), {}),
        file: { status: 'absent' },
        unreadable,
      };
    }
  }

  /** Marks the stored read stale (a push to the default branch touched the file). */
  async invalidate(repository: string): Promise<void> {
    await this.files.markStale(repository);
  }

  private async file(
    repository: string,
    installationId: number | null,
    defaultBranch: string | null,
  ): Promise<RepositoryRulesFile> {
    const stored = await this.files.find(repository);
    const age = stored ? Date.now() - stored.fetchedAt.getTime() : Infinity;
    if (stored && !stored.stale && age < this.config.repositoryRules.refreshMs) return stored.file;

    let read;
    try {
      read = await this.github
        .forInstallation(installationId)
        .getRepositoryFile(
          repository,
          REPOSITORY_RULES_PATH,
          defaultBranch,
          MAX_REPOSITORY_RULES_BYTES,
        );
    } catch (error) {
      // GitHub unreachable: the last read beats none; with none, the attempt is retried.
      if (stored && isTransientError(error)) return stored.file;
      if (isTransientError(error)) throw error;
      // No access to contents (a 403: the App lacks the permission): server rules only.
      this.logger.warn('cannot read the repository rules file; server rules apply', {
        repository,
        error: error instanceof ExternalServiceError ? error.message : String(error),
      });
      const absent: RepositoryRulesFile = { status: 'absent' };
      await this.files.save(repository, absent);
      return absent;
    }

    let file: RepositoryRulesFile;
    if (read === null) file = { status: 'absent' };
    else if (stored && stored.file.status !== 'absent' && stored.file.sha === read.sha)
      file = stored.file; // same blob: same rules, nothing to parse
    else if (read.type !== 'file')
      file = {
        status: 'invalid',
        sha: read.sha,
        problem: `${REPOSITORY_RULES_PATH} is a ${read.type}, not a file`,
      };
    else file = readRepositoryRulesFile(read.sha, read.size, read.content);

    if (
      file.status === 'invalid' &&
      !(stored?.file.status === 'invalid' && stored.file.sha === file.sha)
    )
      await this.reportIgnored(repository, file);
    await this.files.save(repository, file);
    return file;
  }

  private async reportIgnored(
    repository: string,
    file: Extract<RepositoryRulesFile, { status: 'invalid' }>,
  ): Promise<void> {
    this.logger.warn('repository rules file ignored; server rules apply', {
      repository,
      blob_sha: file.sha,
      problem: file.problem,
    });
    const now = new Date();
    await this.audit
      .write([
        {
          type: AuditType.RepositoryRulesIgnored,
          outcome: 'refused',
          actor: null,
          role: null,
          clientAddress: null,
          target: `repository:${repository}`.slice(0, 255),
          reason: 'invalid_file',
          correlationId: null,
          details: {
            path: REPOSITORY_RULES_PATH,
            blob_sha: file.sha,
            problem: file.problem.slice(0, 500),
          },
          occurredAt: now,
          lastSeenAt: now,
          count: 1,
          aggregateKey: null,
        },
      ])
      .catch((error: unknown) => {
        this.logger.warn('could not write the audit record', { error: String(error) });
      });
  }
}
