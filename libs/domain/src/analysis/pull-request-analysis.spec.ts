import {
  analyzePullRequest,
  DEFAULT_SYNCHRONIZE_CODE_FILE_THRESHOLD,
  MAX_LISTED_PULL_REQUEST_FILES,
  PullRequestFileInput,
} from './pull-request-analysis';

const codeFiles = (n: number): PullRequestFileInput[] =>
  Array.from({ length: n }, (_, i) => ({
    filename: `src/module${i}.ts`,
    status: 'modified',
    additions: 3,
    deletions: 1,
  }));

const MIXED: PullRequestFileInput[] = [
  { filename: 'src/main.py', status: 'modified', additions: 10, deletions: 2 },
  { filename: 'src/util.py', status: 'added', additions: 40 },
  { filename: 'tests/test_main.py', status: 'modified', additions: 5, deletions: 0 },
  { filename: 'package.json', status: 'modified', additions: 1, deletions: 1 },
  { filename: 'README.md', status: 'modified' },
  { filename: 'logo.png', status: 'added' },
];

describe('analyzePullRequest', () => {
  it('triggers on a new pull request with code and counts every category', () => {
    const result = analyzePullRequest({
      action: 'opened',
      draft: false,
      files: MIXED,
      synchronizeCodeFileThreshold: 3,
    });
    expect(result).toMatchObject({
      skipped: false,
      shouldTriggerAgent: true,
      counts: { code: 2, test: 1, config: 1, docs: 1, other: 1 },
      reasons: ['new pull request with 2 code files'],
      filesTruncated: false,
    });
    expect(result.skipReason).toBeUndefined();
    expect(result.files[1]).toEqual({
      filename: 'src/util.py',
      status: 'added',
      additions: 40,
      deletions: 0,
      category: 'code',
    });
  });

  it('triggers on a reopened pull request with one code file', () => {
    const result = analyzePullRequest({
      action: 'reopened',
      draft: false,
      files: codeFiles(1),
      synchronizeCodeFileThreshold: 3,
    });
    expect(result.shouldTriggerAgent).toBe(true);
    expect(result.reasons).toEqual(['reopened pull request with 1 code file']);
  });

  it('does not trigger on a new pull request without code', () => {
    const result = analyzePullRequest({
      action: 'opened',
      draft: false,
      files: [{ filename: 'README.md' }, { filename: 'tests/test_x.py' }],
      synchronizeCodeFileThreshold: 3,
    });
    expect(result).toMatchObject({ skipped: false, shouldTriggerAgent: false });
    expect(result.reasons[0]).toContain('changes no code files');
  });

  it('skips drafts', () => {
    for (const action of ['opened', 'synchronize', 'reopened']) {
      const result = analyzePullRequest({
        action,
        draft: true,
        files: codeFiles(10),
        synchronizeCodeFileThreshold: 3,
      });
      expect(result).toMatchObject({
        skipped: true,
        skipReason: 'draft_pull_request',
        shouldTriggerAgent: false,
      });
      expect(result.counts.code).toBe(10);
    }
  });

  it('always triggers when a draft is marked ready for review', () => {
    const result = analyzePullRequest({
      action: 'ready_for_review',
      draft: true,
      files: [],
      synchronizeCodeFileThreshold: 3,
    });
    expect(result).toMatchObject({ skipped: false, shouldTriggerAgent: true });
    expect(result.reasons[0]).toContain('ready for review');
  });

  it('triggers on synchronize only with MORE code files than the threshold', () => {
    const at = analyzePullRequest({
      action: 'synchronize',
      draft: false,
      files: codeFiles(3),
      synchronizeCodeFileThreshold: 3,
    });
    expect(at.shouldTriggerAgent).toBe(false);
    expect(at.skipped).toBe(false);
    const above = analyzePullRequest({
      action: 'synchronize',
      draft: false,
      files: codeFiles(4),
      synchronizeCodeFileThreshold: 3,
    });
    expect(above.shouldTriggerAgent).toBe(true);
    expect(above.reasons).toEqual([
      'pull request update touches 4 code files, more than the threshold of 3',
    ]);
  });

  it('honours a custom threshold and falls back to the default for nonsense', () => {
    expect(
      analyzePullRequest({
        action: 'synchronize',
        draft: false,
        files: codeFiles(1),
        synchronizeCodeFileThreshold: 0,
      }).shouldTriggerAgent,
    ).toBe(true);
    expect(DEFAULT_SYNCHRONIZE_CODE_FILE_THRESHOLD).toBe(3);
    for (const threshold of [undefined, -1, Number.NaN, 2.5]) {
      const result = analyzePullRequest({
        action: 'synchronize',
        draft: false,
        files: codeFiles(3),
        synchronizeCodeFileThreshold: threshold,
      });
      expect(result.shouldTriggerAgent).toBe(false);
      expect(result.reasons[0]).toContain('threshold of 3');
    }
  });

  it('skips actions it does not analyse', () => {
    const result = analyzePullRequest({
      action: 'closed',
      draft: false,
      files: codeFiles(5),
      synchronizeCodeFileThreshold: 3,
    });
    expect(result).toMatchObject({
      skipped: true,
      skipReason: 'action_not_analyzed',
      shouldTriggerAgent: false,
    });
  });

  it('lists at most 300 files but counts them all', () => {
    const result = analyzePullRequest({
      action: 'opened',
      draft: false,
      files: codeFiles(1000),
      synchronizeCodeFileThreshold: 3,
    });
    expect(result.files).toHaveLength(MAX_LISTED_PULL_REQUEST_FILES);
    expect(result.counts.code).toBe(1000);
    expect(result.filesTruncated).toBe(true);
  });

  it('skips malformed file entries instead of failing', () => {
    const files = [
      null,
      5,
      { filename: 7 },
      { filename: 'src/a.go', additions: -4, deletions: 'x' },
    ] as unknown as PullRequestFileInput[];
    const result = analyzePullRequest({
      action: 'opened',
      draft: false,
      files,
      synchronizeCodeFileThreshold: 3,
    });
    expect(result.files).toEqual([
      { filename: 'src/a.go', status: null, additions: 0, deletions: 0, category: 'code' },
    ]);
    expect(
      analyzePullRequest({
        action: 'opened',
        draft: false,
        files: null as unknown as PullRequestFileInput[],
        synchronizeCodeFileThreshold: 3,
      }).counts.code,
    ).toBe(0);
  });
});
