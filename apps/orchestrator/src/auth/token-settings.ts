import type { EnvReader } from '@app/platform';
import {
  DEFAULT_TOKEN_AUDIENCE,
  DEFAULT_TOKEN_MAX_TTL_SECONDS,
  parseTtl,
  TOKEN_MAX_TTL_CEILING_SECONDS,
} from './access-token';

export interface TokenSettings {
  /** TOKEN_MAX_TTL: the longest lifetime a token may have (minted or accepted). */
  tokenMaxTtlSeconds: number;
  /** TOKEN_AUDIENCE: tokens name this deployment; others' tokens are refused. */
  tokenAudience: string;
}

const AUDIENCE = /^[A-Za-z0-9._:/-]{1,100}$/;

/** Reads TOKEN_MAX_TTL and TOKEN_AUDIENCE (shared by the app and the token command). */
export function readTokenSettings(env: EnvReader): TokenSettings {
  const rawTtl = env.raw('TOKEN_MAX_TTL');
  let tokenMaxTtlSeconds = DEFAULT_TOKEN_MAX_TTL_SECONDS;
  if (rawTtl !== undefined) {
    const parsed = parseTtl(rawTtl, TOKEN_MAX_TTL_CEILING_SECONDS);
    if (parsed === null || parsed < 60) {
      env.problem(
        `TOKEN_MAX_TTL must look like 3600, 90m, 12h or 30d, between 60 s and 366 days, got "${rawTtl.slice(0, 40)}"`,
      );
    } else tokenMaxTtlSeconds = parsed;
  }
  const tokenAudience = env.string('TOKEN_AUDIENCE', DEFAULT_TOKEN_AUDIENCE);
  if (!AUDIENCE.test(tokenAudience)) {
    env.problem('TOKEN_AUDIENCE must be 1-100 characters of letters, digits and ._:/-');
  }
  return { tokenMaxTtlSeconds, tokenAudience };
}
