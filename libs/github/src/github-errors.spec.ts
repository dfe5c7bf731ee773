import { ExternalServiceError } from '@app/platform';
import { GithubAnswerError } from './answer-excerpt';
import {
  errorFromResponse,
  heldError,
  invalidInput,
  malformed,
  noInstallationTokenError,
  rateLimitedError,
  rateLimitOf,
} from './github-errors';
import { GithubRateLimitError, RateLimitHold } from './rate-limit-holds';

const SECONDARY =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';
const NOW = Date.parse('2026-01-01T00:00:00Z');

/** An answer as fetch hands it over, and its body text. */
function answer(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): { response: Response; text: string } {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return { response: new Response(text, { status, headers }), text };
}

function limitOf(status: number, body: unknown, headers: Record<string, string> = {}) {
  const { response, text } = answer(status, body, headers);
  return rateLimitOf(response, text);
}

describe('rateLimitOf (a 403/429 read as GitHub documents rate limits)', () => {
  it('reads a 403 with a spent budget as a primary limit lasting until the reset', () => {
    const reset = String(NOW / 1000 + 600);
    expect(
      limitOf(
        403,
        { message: 'API rate limit exceeded for installation ID 1.' },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
      ),
    ).toEqual({ kind: 'primary', status: 403, resetAtMs: NOW + 600_000 });
  });

  it("reads a 403 saying a secondary limit was exceeded as one, with Retry-After's wait when given", () => {
    expect(limitOf(403, { message: SECONDARY })).toEqual({ kind: 'secondary', status: 403 });
    expect(limitOf(403, { message: SECONDARY }, { 'retry-after': '120' })).toEqual({
      kind: 'secondary',
      status: 403,
      retryAfterMs: 120_000,
    });
    expect(limitOf(429, { message: SECONDARY }, { 'retry-after': '7' })).toMatchObject({
      retryAfterMs: 7000,
    });
  });

  it('reads a secondary limit that also spends the budget as secondary, waiting for the reset', () => {
    const reset = String(NOW / 1000 + 60);
    expect(
      limitOf(
        403,
        { message: SECONDARY },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
      ),
    ).toEqual({ kind: 'secondary', status: 403, resetAtMs: NOW + 60_000 });
  });

  it('keeps a 403 without rate-limit headers or message a permission error', () => {
    expect(limitOf(403, { message: 'Resource not accessible by integration' })).toBeNull();
    expect(
      limitOf(403, { message: 'Must have admin rights' }, { 'x-ratelimit-remaining': '4999' }),
    ).toBeNull();
  });

  it('reads a limit from the headers when the body is not JSON (a proxy page)', () => {
    expect(
      limitOf(403, '<html><body>rate limited</body></html>', { 'x-ratelimit-remaining': '0' }),
    ).toMatchObject({ kind: 'primary', status: 403 });
    // Without any sign, a proxy's 403 page is no limit: its words are not read as GitHub's.
    expect(limitOf(403, `<html>${SECONDARY}</html>`)).toBeNull();
  });

  it('reads any 429 as a limit, and no other status as one', () => {
    expect(limitOf(429, '')).toEqual({ kind: 'secondary', status: 429 });
    expect(limitOf(404, { message: SECONDARY }, { 'x-ratelimit-remaining': '0' })).toBeNull();
    expect(limitOf(500, { message: SECONDARY }, { 'retry-after': '5' })).toBeNull();
    expect(limitOf(200, { message: SECONDARY }, { 'x-ratelimit-remaining': '0' })).toBeNull();
  });
});

describe('errorFromResponse (a failing status that is no rate limit)', () => {
  it("makes a 5xx transient, carrying GitHub's Retry-After", () => {
    const { response, text } = answer(
      503,
      { message: 'Service unavailable' },
      { 'retry-after': '3' },
    );
    const error = errorFromResponse(response, text, 'GET /repos/o/r/pulls/1');
    expect(error).toBeInstanceOf(ExternalServiceError);
    expect(error).toMatchObject({
      service: 'github',
      transient: true,
      status: 503,
      retryAfterMs: 3000,
      message: 'GitHub GET /repos/o/r/pulls/1 answered 503: Service unavailable',
    });
  });

  it('makes a 4xx permanent and ignores a Retry-After on it (asking again changes nothing)', () => {
    for (const status of [401, 403, 404, 422]) {
      const { response, text } = answer(status, { message: 'No' }, { 'retry-after': '3' });
      const error = errorFromResponse(response, text, 'GET /x');
      expect(error).toMatchObject({ transient: false, status, retryAfterMs: undefined });
    }
  });

  it('names only the status for a body that is not JSON, and bounds what it quotes', () => {
    const html = answer(502, '<html><h1>Bad Gateway</h1><p>ghp_0123456789abcdef</p></html>');
    expect(errorFromResponse(html.response, html.text, 'GET /x').message).toBe(
      'GitHub GET /x answered 502',
    );
    const long = answer(422, { message: 'm'.repeat(10_000) });
    expect(errorFromResponse(long.response, long.text, 'GET /x').message.length).toBeLessThan(
      'GitHub GET /x answered 422: '.length + 201,
    );
  });
});

describe('rate-limit errors', () => {
  const hold: RateLimitHold = {
    identity: 'installation:7',
    installationId: 7,
    kind: 'secondary',
    untilMs: NOW + 90_000,
    strikes: 1,
    status: 403,
  };

  it('tells who waits, for which limit and until when; transient with the wait left', () => {
    const error = rateLimitedError(
      'POST /repos/o/r/issues/1/comments',
      403,
      JSON.stringify({ message: SECONDARY }),
      hold,
      NOW,
    );
    expect(error).toBeInstanceOf(GithubRateLimitError);
    expect(error).toMatchObject({ transient: true, status: 403, retryAfterMs: 90_000, hold });
    expect(error.message).toBe(
      `GitHub POST /repos/o/r/issues/1/comments answered 403: ${SECONDARY}; installation:7 waits out a secondary rate limit until 2026-01-01T00:01:30.000Z`,
    );
  });

  it('says a call was not sent while its identity waits, with no HTTP status', () => {
    const primary: RateLimitHold = {
      ...hold,
      identity: 'token',
      installationId: null,
      kind: 'primary',
    };
    const error = heldError(primary, 'GET /x', NOW + 30_000);
    expect(error).toMatchObject({ transient: true, status: undefined, retryAfterMs: 60_000 });
    expect(error.message).toBe(
      'GitHub GET /x not sent: token waits out a rate limit (budget spent) until 2026-01-01T00:01:30.000Z',
    );
  });

  it('never asks for less than a second, even when the wait is over', () => {
    expect(heldError(hold, 'GET /x', hold.untilMs + 5000).retryAfterMs).toBe(1000);
  });
});

describe('other errors', () => {
  it('makes a malformed answer permanent, keeping a scrubbed excerpt of it for the log', () => {
    const text = '{"token":"ghs_abcdefghijklmnopqrstuvwxyz","expires_at":42}';
    const error = malformed(
      'POST /app/installations/1/access_tokens',
      'body.expires_at is not a string',
      201,
      text,
    );
    expect(error).toBeInstanceOf(GithubAnswerError);
    expect(error).toMatchObject({ transient: false, status: 201 });
    expect(error.message).toBe(
      'malformed answer to POST /app/installations/1/access_tokens: body.expires_at is not a string',
    );
    expect(error.answer).not.toContain('abcdefghijklmnop');
  });

  it('names the installation a token was refused for, keeping the cause transient or not', () => {
    const cause = new ExternalServiceError(
      'github',
      'GitHub POST /x answered 404: Not Found',
      false,
      404,
    );
    expect(noInstallationTokenError(9, cause)).toMatchObject({
      transient: false,
      status: 404,
      message:
        'no access token for GitHub App installation 9: GitHub POST /x answered 404: Not Found',
    });
    expect(invalidInput('invalid commit sha')).toMatchObject({
      service: 'github',
      transient: false,
    });
  });
});
