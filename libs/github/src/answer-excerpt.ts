import { ExternalServiceError } from '@app/platform';

/** At most this much of an answer is kept for the log. */
const MAX_EXCERPT = 1000;

/** Credentials GitHub hands out or accepts: tokens by prefix, JWTs, bearer headers. */
const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]{8,}/g, '$1[redacted]'],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [/\b(Bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]'],
  [
    /("(?:token|access_token|refresh_token|client_secret|secret|password|private_key)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi,
    '$1"[redacted]"',
  ],
];

/**
 * An answer as it may be logged: credentials cut out, at most 1000 characters, with the
 * length of what was left off.
 */
export function answerExcerpt(text: string): string {
  let clean = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) clean = clean.replace(pattern, replacement);
  if (clean.length <= MAX_EXCERPT) return clean;
  return `${clean.slice(0, MAX_EXCERPT)}… (${clean.length - MAX_EXCERPT} more characters)`;
}

/**
 * A GitHub answer that does not match its contract (a field missing or of the wrong type, a body
 * that is not JSON). Permanent; `answer` is the raw answer as it may be logged
 * ({@link answerExcerpt}), so the log shows what GitHub sent.
 */
export class GithubAnswerError extends ExternalServiceError {
  /** The raw answer, scrubbed and bounded. */
  readonly answer: string;

  constructor(message: string, status: number, text: string) {
    super('github', message, false, status);
    this.name = 'GithubAnswerError';
    this.answer = answerExcerpt(text);
  }
}
