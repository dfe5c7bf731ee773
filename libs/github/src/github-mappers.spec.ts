import { ShapeError } from '@app/platform';
import { GithubAnswerError } from './answer-excerpt';
import {
  toAnnotation,
  toCheckRun,
  toCheckRunOutput,
  toCheckRunPage,
  toComment,
  toCommitSummary,
  toHookDelivery,
  toInstallationToken,
  toPullRequestFile,
  toPullRequestSummary,
  toRepositoryFile,
} from './github-mappers';
import { readJson } from './github-requests';

/** A pull request as GitHub sends it, trimmed to what the client reads. */
function pullRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    number: 42,
    state: 'open',
    draft: false,
    title: 'Fix',
    html_url: 'https://github.com/o/r/pull/42',
    user: { login: 'octocat', type: 'User' },
    author_association: 'CONTRIBUTOR',
    labels: [{ id: 1, name: 'bug' }],
    head: { sha: 'a'.repeat(40), ref: 'fix', repo: { full_name: 'fork/r' } },
    base: { sha: 'b'.repeat(40), ref: 'main', repo: { full_name: 'o/r' } },
    ...overrides,
  };
}

function shapeProblem(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    if (error instanceof ShapeError) return error.message;
    throw error;
  }
  throw new Error('expected a ShapeError');
}

describe('toPullRequestSummary', () => {
  it('reads the fields GitHub documents as nullable or optional as null or their default', () => {
    const pr = toPullRequestSummary(
      pullRequest({
        draft: undefined, // older GHES
        user: null, // a deleted account ("ghost") may come as null
        author_association: undefined,
        labels: undefined,
        head: { sha: 'a'.repeat(40), ref: 'fix', repo: null }, // the fork was deleted
        base: { sha: 'b'.repeat(40), ref: 'main', repo: null },
      }),
    );
    expect(pr).toMatchObject({
      draft: false,
      authorLogin: null,
      authorType: null,
      authorAssociation: null,
      labels: [],
      headRepository: null,
      baseRepository: null,
    });
  });

  it('names the field that breaks the contract', () => {
    expect(shapeProblem(() => toPullRequestSummary(pullRequest({ head: null })))).toBe(
      'head is not an object',
    );
    expect(shapeProblem(() => toPullRequestSummary(pullRequest({ number: '42' })))).toBe(
      'body.number is not an integer',
    );
    expect(shapeProblem(() => toPullRequestSummary(pullRequest({ draft: 'yes' })))).toBe(
      'body.draft is not a boolean',
    );
    expect(shapeProblem(() => toPullRequestSummary(pullRequest({ labels: [{ id: 1 }] })))).toBe(
      'labels[0].name is not a string',
    );
    expect(shapeProblem(() => toPullRequestSummary([pullRequest()]))).toBe('body is not an object');
  });
});

describe('toCommitSummary', () => {
  it('reads an author or committer GitHub matched to no account as null', () => {
    expect(
      toCommitSummary({
        sha: 'c'.repeat(40),
        author: null,
        committer: { login: 'web-flow', type: 'User' },
      }),
    ).toEqual({
      sha: 'c'.repeat(40),
      authorLogin: null,
      authorType: null,
      committerLogin: 'web-flow',
      committerType: 'User',
    });
  });
});

describe('check runs', () => {
  it('reads a run still in progress (no conclusion, no details URL) with nulls', () => {
    expect(
      toCheckRun(
        { id: 5, name: 'ci', status: 'in_progress', conclusion: null, details_url: null },
        'check_runs[0]',
      ),
    ).toEqual({
      id: 5,
      name: 'ci',
      status: 'in_progress',
      conclusion: null,
      detailsUrl: null,
      htmlUrl: null,
    });
  });

  it('names the run of a page that breaks the contract', () => {
    const page = {
      total_count: 2,
      check_runs: [{ id: 1, name: 'a', status: 'completed' }, { name: 'b' }],
    };
    expect(shapeProblem(() => toCheckRunPage(page))).toBe('check_runs[1].id is not an integer');
    expect(shapeProblem(() => toCheckRunPage({ total_count: 0 }))).toBe(
      'check_runs is not an array',
    );
  });

  it('reads a run without output as empty, and bounds what the output says', () => {
    const base = { id: 9, name: 'lint', conclusion: 'failure', details_url: null };
    expect(toCheckRunOutput({ ...base, output: null })).toMatchObject({
      title: null,
      summary: null,
      text: null,
    });
    const loud = toCheckRunOutput({
      ...base,
      output: { title: 't'.repeat(1000), summary: 's'.repeat(10_000), text: 42 },
    });
    expect([loud.title?.length, loud.summary?.length, loud.text]).toEqual([500, 4000, null]);
  });

  it('reads an annotation with null line, level and message, bounding its path', () => {
    expect(
      toAnnotation(
        {
          path: 'p'.repeat(2000),
          start_line: null,
          annotation_level: null,
          message: null,
          title: null,
        },
        'annotations[0]',
      ),
    ).toEqual({ path: 'p'.repeat(500), startLine: null, level: null, message: '', title: null });
    expect(shapeProblem(() => toAnnotation({ message: 'x' }, 'annotations[3]'))).toBe(
      'annotations[3].path is not a string',
    );
  });
});

describe('toRepositoryFile', () => {
  const content = Buffer.from('rules: {}\n').toString('base64');

  it('decodes a base64 file within the limit', () => {
    const file = toRepositoryFile(
      { type: 'file', size: 10, sha: 's', encoding: 'base64', content },
      100,
    );
    expect(Buffer.from(file.content ?? []).toString()).toBe('rules: {}\n');
  });

  it('gives no content for a directory, a file over the limit, or one GitHub sends without it', () => {
    expect(toRepositoryFile([{ type: 'file' }], 100)).toEqual({
      type: 'dir',
      sha: '',
      size: 0,
      content: null,
    });
    expect(
      toRepositoryFile({ type: 'file', size: 500, sha: 's', encoding: 'base64', content }, 100)
        .content,
    ).toBeNull();
    // Files over 1 MB: encoding "none", content "".
    expect(
      toRepositoryFile({ type: 'file', size: 50, sha: 's', encoding: 'none', content: '' }, 100)
        .content,
    ).toBeNull();
    expect(toRepositoryFile({ type: 'symlink', size: 5, sha: 's', target: '/etc' }, 100)).toEqual({
      type: 'symlink',
      sha: 's',
      size: 5,
      content: null,
    });
  });

  it('refuses an answer without size or sha', () => {
    expect(shapeProblem(() => toRepositoryFile({ type: 'file', sha: 's' }, 100))).toBe(
      'body.size is not an integer',
    );
  });
});

describe('toHookDelivery', () => {
  const delivery = {
    id: 1,
    guid: 'g',
    delivered_at: '2026-01-01T00:00:00Z',
    redelivery: false,
    duration: 0.2,
    status: 'OK',
    status_code: 200,
    event: 'ping',
    action: null,
    installation_id: null,
    repository_id: null,
  };

  it('reads the nullable action, installation and repository as null', () => {
    expect(toHookDelivery(delivery, '[0]')).toMatchObject({
      action: null,
      installationId: null,
      repositoryId: null,
      deliveredAtMs: Date.parse('2026-01-01T00:00:00Z'),
    });
  });

  it('refuses a delivery time that is no time, or a redelivery flag that is no boolean', () => {
    expect(shapeProblem(() => toHookDelivery({ ...delivery, delivered_at: 'soon' }, '[2]'))).toBe(
      '[2].delivered_at is not a time',
    );
    expect(shapeProblem(() => toHookDelivery({ ...delivery, redelivery: 'false' }, '[0]'))).toBe(
      '[0].redelivery is not a boolean',
    );
  });

  it('bounds the status text GitHub stores', () => {
    expect(toHookDelivery({ ...delivery, status: 'x'.repeat(5000) }, '[0]').status).toHaveLength(
      200,
    );
  });
});

describe('toInstallationToken and toComment', () => {
  it('refuses a token that cannot be sent in a header, or an expiry that is no time', () => {
    expect(
      shapeProblem(() =>
        toInstallationToken({ token: 'ghs_a b', expires_at: '2026-01-01T01:00:00Z' }),
      ),
    ).toBe('body.token is not a token');
    expect(
      shapeProblem(() => toInstallationToken({ token: '', expires_at: '2026-01-01T01:00:00Z' })),
    ).toBe('body.token is not a token');
    expect(shapeProblem(() => toInstallationToken({ token: 'ghs_x', expires_at: 'later' }))).toBe(
      'body.expires_at is not a time',
    );
  });

  it('reads a comment without html_url', () => {
    expect(toComment({ id: 3, html_url: null })).toEqual({ id: 3, htmlUrl: null });
    expect(shapeProblem(() => toComment({ id: null }))).toBe('body.id is not an integer');
    expect(
      toPullRequestFile(
        { filename: 'a', status: 'added', additions: 1, deletions: 0, changes: 1 },
        '[0]',
      ),
    ).toEqual({
      filename: 'a',
      status: 'added',
      additions: 1,
      deletions: 0,
      changes: 1,
    });
  });
});

describe('readJson (an answer read by a mapper)', () => {
  const read = (text: string, status = 200) =>
    readJson(
      { response: new Response(text, { status }), text },
      'POST /repos/o/r/issues/1/comments',
      toComment,
    );

  it('reads a good answer', () => {
    expect(read('{"id":1,"html_url":"https://github.com/o/r/pull/1#issuecomment-1"}')).toEqual({
      id: 1,
      htmlUrl: 'https://github.com/o/r/pull/1#issuecomment-1',
    });
  });

  it('refuses a body that is not JSON without quoting it in the message (the excerpt is scrubbed)', () => {
    for (const text of ['<html>ghp_0123456789abcdefghij</html>', '', '{"id":']) {
      let error: unknown;
      try {
        read(text, 201);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(GithubAnswerError);
      expect(error).toMatchObject({
        transient: false,
        status: 201,
        message: 'malformed answer to POST /repos/o/r/issues/1/comments: body is not JSON',
      });
      expect((error as GithubAnswerError).answer).not.toContain('0123456789abcdefghij');
    }
  });

  it('names the field of a JSON answer that breaks the contract', () => {
    expect(() => read('{"html_url":null}')).toThrow(
      'malformed answer to POST /repos/o/r/issues/1/comments: body.id is not an integer',
    );
  });
});
