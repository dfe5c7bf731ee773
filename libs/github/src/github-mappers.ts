import {
  asArray,
  asRecord,
  isRecord,
  readInteger as int,
  readNullableInteger as nullableInt,
  readNullableString as nullableStr,
  readString as str,
  ShapeError,
} from '@app/platform';
import type { InstallationToken } from './github-app-auth';
import type {
  CheckAnnotation,
  CheckRunDetails,
  CheckRunSummary,
  CommitSummary,
  PullRequestFile,
  PullRequestSummary,
  RepositoryFile,
} from './github.types';
import type { HookDelivery } from './hook-deliveries';

/**
 * GitHub's JSON answers read into the client's camelCase shapes. A field the client relies on
 * that is missing or of the wrong type throws a {@link ShapeError} naming it; fields GitHub
 * documents as nullable or optional (an account matching no user, a deleted fork's `head.repo`,
 * an older GHES without `draft`, a check run without conclusion or output) read as null or
 * their default. Free text is bounded before it goes further.
 */

export function toPullRequestFile(value: unknown, where: string): PullRequestFile {
  const file = asRecord(value, where);
  return {
    filename: str(file, 'filename', where),
    status: str(file, 'status', where),
    additions: int(file, 'additions', where),
    deletions: int(file, 'deletions', where),
    changes: int(file, 'changes', where),
  };
}

export function toPullRequestFiles(value: unknown): PullRequestFile[] {
  return asArray(value, 'body').map((item, i) => toPullRequestFile(item, `[${i}]`));
}

export function toPullRequestSummary(value: unknown): PullRequestSummary {
  const pr = asRecord(value, 'body');
  const head = asRecord(pr.head, 'head');
  const base = asRecord(pr.base, 'base');
  const draft = pr.draft;
  // Older GHES versions omit `draft`; such a pull request cannot be a draft.
  if (draft !== undefined && typeof draft !== 'boolean')
    throw new ShapeError('body.draft is not a boolean');
  return {
    number: int(pr, 'number', 'body'),
    state: str(pr, 'state', 'body'),
    draft: draft ?? false,
    headSha: str(head, 'sha', 'head'),
    headRef: str(head, 'ref', 'head'),
    baseRef: str(base, 'ref', 'base'),
    title: str(pr, 'title', 'body'),
    htmlUrl: str(pr, 'html_url', 'body'),
    labels: asArray(pr.labels ?? [], 'labels').map((label, i) =>
      str(asRecord(label, `labels[${i}]`), 'name', `labels[${i}]`),
    ),
    authorLogin: account(pr.user).login,
    authorType: account(pr.user).type,
    authorAssociation: typeof pr.author_association === 'string' ? pr.author_association : null,
    // A deleted fork leaves `head.repo: null`.
    headRepository: isRecord(head.repo) ? nullableStr(head.repo, 'full_name', 'head.repo') : null,
    baseRepository: isRecord(base.repo) ? nullableStr(base.repo, 'full_name', 'base.repo') : null,
  };
}

export function toPullRequestSummaries(value: unknown): PullRequestSummary[] {
  return asArray(value, 'body').map((pr) => toPullRequestSummary(pr));
}

export function toRepositoryFile(value: unknown, maxBytes: number): RepositoryFile {
  // A directory answers with an array of entries.
  if (Array.isArray(value)) return { type: 'dir', sha: '', size: 0, content: null };
  const file = asRecord(value, 'body');
  const type = str(file, 'type', 'body');
  const size = int(file, 'size', 'body');
  const sha = str(file, 'sha', 'body');
  if (type !== 'file' || size > maxBytes) return { type, sha, size, content: null };
  // Files over 1 MB come with encoding "none" and empty content.
  if (file.encoding !== 'base64' || typeof file.content !== 'string')
    return { type, sha, size, content: null };
  return { type, sha, size, content: new Uint8Array(Buffer.from(file.content, 'base64')) };
}

export function toCheckRunPage(value: unknown): { totalCount: number; items: CheckRunSummary[] } {
  const page = asRecord(value, 'body');
  return {
    totalCount: int(page, 'total_count', 'body'),
    items: asArray(page.check_runs, 'check_runs').map((item, i) =>
      toCheckRun(item, `check_runs[${i}]`),
    ),
  };
}

export function toCheckRun(value: unknown, where: string): CheckRunSummary {
  const run = asRecord(value, where);
  return {
    id: int(run, 'id', where),
    name: str(run, 'name', where),
    status: str(run, 'status', where),
    conclusion: nullableStr(run, 'conclusion', where),
    detailsUrl: nullableStr(run, 'details_url', where),
    htmlUrl: nullableStr(run, 'html_url', where),
  };
}

/** A commit's or pull request's account; null fields when GitHub matched no user. */
function account(value: unknown): { login: string | null; type: string | null } {
  if (!isRecord(value)) return { login: null, type: null };
  return {
    login: typeof value.login === 'string' ? value.login : null,
    type: typeof value.type === 'string' ? value.type : null,
  };
}

export function toCommitSummary(value: unknown): CommitSummary {
  const commit = asRecord(value, 'body');
  const author = account(commit.author);
  const committer = account(commit.committer);
  return {
    sha: str(commit, 'sha', 'body'),
    authorLogin: author.login,
    authorType: author.type,
    committerLogin: committer.login,
    committerType: committer.type,
  };
}

function bounded(value: unknown, max: number): string | null {
  return typeof value === 'string' ? value.slice(0, max) : null;
}

export function toCheckRunOutput(value: unknown): Omit<CheckRunDetails, 'annotations'> {
  const run = asRecord(value, 'body');
  const output = isRecord(run.output) ? run.output : {};
  return {
    id: int(run, 'id', 'body'),
    name: str(run, 'name', 'body'),
    conclusion: nullableStr(run, 'conclusion', 'body'),
    detailsUrl: nullableStr(run, 'details_url', 'body'),
    title: bounded(output.title, 500),
    summary: bounded(output.summary, 4000),
    text: bounded(output.text, 4000),
  };
}

export function toAnnotation(value: unknown, where: string): CheckAnnotation {
  const a = asRecord(value, where);
  return {
    path: str(a, 'path', where).slice(0, 500),
    startLine: typeof a.start_line === 'number' ? a.start_line : null,
    level: typeof a.annotation_level === 'string' ? a.annotation_level : null,
    message: bounded(a.message, 1000) ?? '',
    title: bounded(a.title, 300),
  };
}

/** The first `max` annotations of a list answer. */
export function toAnnotations(value: unknown, max: number): CheckAnnotation[] {
  return asArray(value, 'body')
    .slice(0, max)
    .map((a, i) => toAnnotation(a, `annotations[${i}]`));
}

export function toComment(value: unknown): { id: number; htmlUrl: string | null } {
  const comment = asRecord(value, 'body');
  return { id: int(comment, 'id', 'body'), htmlUrl: nullableStr(comment, 'html_url', 'body') };
}

export function toHookDelivery(value: unknown, where: string): HookDelivery {
  const d = asRecord(value, where);
  const deliveredAt = Date.parse(str(d, 'delivered_at', where));
  if (Number.isNaN(deliveredAt)) throw new ShapeError(`${where}.delivered_at is not a time`);
  const redelivery = d.redelivery;
  if (typeof redelivery !== 'boolean') throw new ShapeError(`${where}.redelivery is not a boolean`);
  return {
    id: int(d, 'id', where),
    guid: str(d, 'guid', where),
    deliveredAtMs: deliveredAt,
    redelivery,
    statusCode: typeof d.status_code === 'number' ? d.status_code : 0,
    status: typeof d.status === 'string' ? d.status.slice(0, 200) : '',
    event: str(d, 'event', where),
    action: nullableStr(d, 'action', where),
    installationId: nullableInt(d, 'installation_id', where),
    repositoryId: nullableInt(d, 'repository_id', where),
  };
}

export function toHookDeliveries(value: unknown): HookDelivery[] {
  return asArray(value, 'body').map((d, i) => toHookDelivery(d, `[${i}]`));
}

/** `POST /app/installations/{id}/access_tokens`: a usable token and when it expires. */
export function toInstallationToken(value: unknown): InstallationToken {
  const body = asRecord(value, 'body');
  const token = str(body, 'token', 'body');
  const expiresAtMs = Date.parse(str(body, 'expires_at', 'body'));
  if (token === '' || /\s/.test(token)) throw new ShapeError('body.token is not a token');
  if (Number.isNaN(expiresAtMs)) throw new ShapeError('body.expires_at is not a time');
  return { token, expiresAtMs };
}
