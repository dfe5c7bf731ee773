import { readArray, readOwn, readText, toText } from '../routing/payload-reader';

/** Most paths listed per change kind; the counts cover every distinct path seen. */
export const MAX_PUSH_SUMMARY_FILES = 100;
const MAX_AUTHORS = 50;
const MAX_COMMITS_SCANNED = 2048;
const MAX_PATHS_PER_COMMIT = 3000;
const MAX_MESSAGE_LENGTH = 2000;
const MAX_PATH_LENGTH = 1024;

/** What a push changed, for the push analysis output. */
export interface PushSummary {
  ref: string | null;
  /** `ref` without `refs/heads/`, or null for tags and other refs. */
  branch: string | null;
  commitCount: number;
  /** Distinct commit authors (GitHub username, else name), in order of appearance. */
  authors: string[];
  addedCount: number;
  modifiedCount: number;
  removedCount: number;
  added: string[];
  modified: string[];
  removed: string[];
  /** True when a list holds fewer paths than its count. */
  filesTruncated: boolean;
  headCommitId: string | null;
  headCommitMessage: string | null;
}

/**
 * Summarises a `push` payload: commits, authors and the distinct paths added, modified and
 * removed across its commits. Never throws; unreadable parts count as absent.
 */
export function summarizePush(payload: unknown): PushSummary {
  try {
    return summarize(payload);
  } catch {
    // Parsed JSON cannot make the readers throw; this guards exotic objects (getters, proxies).
    return summarize(null);
  }
}

function summarize(payload: unknown): PushSummary {
  const ref = readText(payload, MAX_PATH_LENGTH, 'ref');
  const branch = ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) || null : null;
  const commits = readArray(payload, 'commits') ?? [];

  const authors = new Set<string>();
  const paths = {
    added: new Set<string>(),
    modified: new Set<string>(),
    removed: new Set<string>(),
  };
  for (const commit of commits.slice(0, MAX_COMMITS_SCANNED)) {
    const author =
      readText(commit, 255, 'author', 'username') ?? readText(commit, 255, 'author', 'name');
    if (author !== null && authors.size < MAX_AUTHORS) authors.add(author);
    for (const kind of ['added', 'modified', 'removed'] as const) {
      for (const path of (readArray(commit, kind) ?? []).slice(0, MAX_PATHS_PER_COMMIT)) {
        const text = toText(path, MAX_PATH_LENGTH);
        if (text) paths[kind].add(text);
      }
    }
  }

  const list = (set: Set<string>): string[] => [...set].slice(0, MAX_PUSH_SUMMARY_FILES);
  const headCommit = readOwn(payload, 'head_commit');
  return {
    ref,
    branch,
    commitCount: commits.length,
    authors: [...authors],
    addedCount: paths.added.size,
    modifiedCount: paths.modified.size,
    removedCount: paths.removed.size,
    added: list(paths.added),
    modified: list(paths.modified),
    removed: list(paths.removed),
    filesTruncated: [paths.added, paths.modified, paths.removed].some(
      (set) => set.size > MAX_PUSH_SUMMARY_FILES,
    ),
    headCommitId: readText(headCommit, 64, 'id'),
    headCommitMessage: readText(headCommit, MAX_MESSAGE_LENGTH, 'message'),
  };
}
