import type Redis from 'ioredis';

/**
 * Atomic token bucket in Redis (one EVAL per request): every replica draws from the same bucket per client. Returns
 * remaining tokens and, when empty, the milliseconds until one is back.
 */
const SCRIPT = `
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local refill_per_ms = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', key, 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * refill_per_ms)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / refill_per_ms)
end
redis.call('HSET', key, 't', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', key, math.ceil(capacity / refill_per_ms) + 1000)
return {allowed, wait}
`;

export class RedisTokenBucket {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly capacity: number,
    private readonly refillPerMinute: number,
  ) {}

  /** Takes one token for `client`; `retryAfterMs` is set when none was left. */
  async take(client: string): Promise<{ allowed: boolean; retryAfterMs: number }> {
    // One round trip; the script reads Redis TIME, which keeps every replica on one clock.
    const result = (await this.redis.eval(
      SCRIPT,
      1,
      `${this.prefix}:ratelimit:api:${client}`,
      this.capacity,
      this.refillPerMinute / 60_000,
    )) as [number, number];
    return { allowed: result[0] === 1, retryAfterMs: result[1] };
  }
}
