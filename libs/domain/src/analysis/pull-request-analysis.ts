import { capText, reasonToken } from '../routing/payload-reader';
import { classifyFile, FileCategory } from './classify-file';

/** Synchronize pushes touching more code files than this start an agent run. */
export const DEFAULT_SYNCHRONIZE_CODE_FILE_THRESHOLD = 3;

/** Most classified files returned; counts still cover every file. */
export const MAX_LISTED_PULL_REQUEST_FILES = 300;

const MAX_FILENAME_LENGTH = 1024;

/** One changed file as the GitHub "list pull request files" API reports it. */
export interface PullRequestFileInput {
  filename: string;
  status?: string;
  additions?: number;
  deletions?: number;
}

/** Input of {@link analyzePullRequest}. */
export interface PullRequestAnalysisInput {
  action: string;
  draft: boolean;
  files: PullRequestFileInput[];
  /** Defaults to {@link DEFAULT_SYNCHRONIZE_CODE_FILE_THRESHOLD}; must be a non-negative integer. */
  synchronizeCodeFileThreshold?: number;
}

/** A changed file with its category. */
export interface ClassifiedFile {
  filename: string;
  status: string | null;
  additions: number;
  deletions: number;
  category: FileCategory;
}

/** Number of changed files per category. */
export type FileCategoryCounts = Record<FileCategory, number>;

/** Why a pull request should or should not get an agent run. */
export interface PullRequestAnalysis {
  skipped: boolean;
  /** Machine-readable: `draft_pull_request` or `action_not_analyzed`. */
  skipReason?: string;
  counts: FileCategoryCounts;
  /** At most {@link MAX_LISTED_PULL_REQUEST_FILES} entries, in input order. */
  files: ClassifiedFile[];
  filesTruncated: boolean;
  shouldTriggerAgent: boolean;
  /** Human-readable, for task output and the agent prompt. */
  reasons: string[];
}

/**
 * Decides whether a pull request deserves an agent run. Drafts are skipped unless they were just
 * marked ready for review. Opened/reopened trigger with at least one code file, ready_for_review
 * always triggers, synchronize triggers with MORE than the threshold of code files.
 */
export function analyzePullRequest(input: PullRequestAnalysisInput): PullRequestAnalysis {
  const { counts, files, filesTruncated } = classifyFiles(input.files);
  const base = { counts, files, filesTruncated };
  const action = input.action;
  const code = counts.code;

  if (input.draft && action !== 'ready_for_review') {
    return {
      ...base,
      skipped: true,
      skipReason: 'draft_pull_request',
      shouldTriggerAgent: false,
      reasons: ['draft pull request; waiting until it is marked ready for review'],
    };
  }

  switch (action) {
    case 'opened':
    case 'reopened': {
      const label = action === 'opened' ? 'new pull request' : 'reopened pull request';
      return code > 0
        ? decided(base, true, `${label} with ${plural(code, 'code file')}`)
        : decided(base, false, `${label} changes no code files (${describeCounts(counts)})`);
    }
    case 'ready_for_review':
      return decided(
        base,
        true,
        `pull request marked ready for review with ${plural(code, 'code file')}`,
      );
    case 'synchronize': {
      const threshold = validThreshold(input.synchronizeCodeFileThreshold);
      return code > threshold
        ? decided(
            base,
            true,
            `pull request update touches ${plural(code, 'code file')}, more than the threshold of ${threshold}`,
          )
        : decided(
            base,
            false,
            `pull request update touches ${plural(code, 'code file')}, not more than the threshold of ${threshold}`,
          );
    }
    default:
      return {
        ...base,
        skipped: true,
        skipReason: 'action_not_analyzed',
        shouldTriggerAgent: false,
        reasons: [`pull request action ${reasonToken(action)} is not analysed`],
      };
  }
}

function decided(
  base: Pick<PullRequestAnalysis, 'counts' | 'files' | 'filesTruncated'>,
  shouldTriggerAgent: boolean,
  reason: string,
): PullRequestAnalysis {
  return { ...base, skipped: false, shouldTriggerAgent, reasons: [reason] };
}

function classifyFiles(input: unknown): {
  counts: FileCategoryCounts;
  files: ClassifiedFile[];
  filesTruncated: boolean;
} {
  const counts: FileCategoryCounts = { test: 0, config: 0, code: 0, docs: 0, other: 0 };
  const files: ClassifiedFile[] = [];
  let filesTruncated = false;
  // The list comes from the GitHub API; a wrong shape must not fail the task.
  const list: unknown[] = Array.isArray(input) ? input : [];
  for (const entry of list) {
    const file = entry as Partial<Record<keyof PullRequestFileInput, unknown>> | null;
    if (typeof file !== 'object' || file === null || typeof file.filename !== 'string') continue;
    const category = classifyFile(file.filename);
    counts[category] += 1;
    if (files.length >= MAX_LISTED_PULL_REQUEST_FILES) {
      filesTruncated = true;
      continue;
    }
    files.push({
      filename: capText(file.filename, MAX_FILENAME_LENGTH),
      status: typeof file.status === 'string' ? capText(file.status, 32) : null,
      additions: nonNegative(file.additions),
      deletions: nonNegative(file.deletions),
      category,
    });
  }
  return { counts, files, filesTruncated };
}

function validThreshold(value: number | undefined): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
    ? value
    : DEFAULT_SYNCHRONIZE_CODE_FILE_THRESHOLD;
}

function nonNegative(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function describeCounts(counts: FileCategoryCounts): string {
  const parts = (Object.keys(counts) as FileCategory[])
    .filter((category) => counts[category] > 0)
    .map((category) => `${counts[category]} ${category}`);
  return parts.length > 0 ? parts.join(', ') : 'no files';
}
