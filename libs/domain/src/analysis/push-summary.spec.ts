import examples from '@octokit/webhooks-examples';
import { MAX_PUSH_SUMMARY_FILES, summarizePush } from './push-summary';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are mutated freely to build variants
type Payload = Record<string, any>;
const definitions = examples as unknown as Array<{ name: string; examples: Payload[] }>;

function pushExample(filter: (p: Payload) => boolean): Payload {
  const found = definitions.find((d) => d.name === 'push')?.examples.find(filter);
  if (!found) throw new Error('no matching push example');
  return structuredClone(found);
}

const branchPush = (): Payload => pushExample((p) => p.ref === 'refs/heads/master');

const EMPTY = {
  ref: null,
  branch: null,
  commitCount: 0,
  authors: [],
  addedCount: 0,
  modifiedCount: 0,
  removedCount: 0,
  added: [],
  modified: [],
  removed: [],
  filesTruncated: false,
  headCommitId: null,
  headCommitMessage: null,
};

describe('summarizePush', () => {
  it('summarises the real push to master', () => {
    expect(summarizePush(branchPush())).toEqual({
      ref: 'refs/heads/master',
      branch: 'master',
      commitCount: 1,
      authors: ['Codertocat'],
      addedCount: 1,
      modifiedCount: 0,
      removedCount: 0,
      added: ['README.md'],
      modified: [],
      removed: [],
      filesTruncated: false,
      headCommitId: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
      headCommitMessage: 'Initial commit',
    });
  });

  it('summarises a real tag push without a branch', () => {
    const summary = summarizePush(pushExample((p) => p.ref.startsWith('refs/tags/') && !p.deleted));
    expect(summary).toMatchObject({ ref: 'refs/tags/simple-tag', branch: null, commitCount: 0 });
  });

  it('merges paths across commits and de-duplicates authors', () => {
    const payload = branchPush();
    const first = payload.commits[0];
    payload.commits = [
      { ...first, added: ['a.ts'], modified: ['b.ts'], removed: [] },
      { ...first, added: [], modified: ['b.ts', 'c.ts'], removed: ['d.ts'] },
      { ...first, author: { name: 'Someone Else' }, added: [], modified: [], removed: [] },
    ];
    expect(summarizePush(payload)).toMatchObject({
      commitCount: 3,
      authors: ['Codertocat', 'Someone Else'],
      added: ['a.ts'],
      modified: ['b.ts', 'c.ts'],
      removed: ['d.ts'],
      modifiedCount: 2,
    });
  });

  it('caps file lists and the head commit message', () => {
    const payload = branchPush();
    payload.commits[0].modified = Array.from({ length: 500 }, (_, i) => `f${i}.ts`);
    payload.head_commit.message = 'm'.repeat(50_000);
    const summary = summarizePush(payload);
    expect(summary.modified).toHaveLength(MAX_PUSH_SUMMARY_FILES);
    expect(summary.modifiedCount).toBe(500);
    expect(summary.filesTruncated).toBe(true);
    expect(summary.headCommitMessage).toHaveLength(2000);
  });

  it.each([null, undefined, [], 'x', 5, {}, { ref: 5, commits: 'x', head_commit: [] }])(
    'reads %p as an empty push',
    (payload) => {
      expect(summarizePush(payload)).toEqual(EMPTY);
    },
  );

  it('skips junk commits and paths', () => {
    const payload = branchPush();
    payload.commits = [null, 5, { added: [null, 7, 'ok.ts'], modified: 'x', author: 'bob' }];
    expect(summarizePush(payload)).toMatchObject({
      commitCount: 3,
      authors: [],
      added: ['ok.ts'],
      modified: [],
    });
  });
});
