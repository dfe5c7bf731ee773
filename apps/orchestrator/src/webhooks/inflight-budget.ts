import { DomainError, ErrorCode } from '@app/platform';

/** Retry-After of a delivery refused by the in-flight cap, seconds. */
export const INFLIGHT_RETRY_AFTER_SECONDS = 5;

/** What one request's body reader reports as it buffers, and gives back when it is done. */
export interface InflightHold {
  /** Counts `bytes` more; a DomainError (429 or 503) when that would pass a cap (nothing counted). */
  add(bytes: number): DomainError | null;
  /** Gives back everything this request held; idempotent. */
  release(): void;
}

/**
 * Bytes of webhook bodies buffered before their signature is checked, across all requests in
 * flight (`globalLimit`, past it 503) and per client key (`clientLimit`, past it 429). An
 * unverified upload can hold up to WEBHOOK_MAX_PAYLOAD_SIZE until it completes or times out;
 * without these caps, a few hundred stalled uploads one byte short of complete held the memory of
 * a pod's limit. The client key is the limiters' (IPv6 by /64).
 */
export class InflightBudget {
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly globalLimit: number,
    private readonly clientLimit: number,
  ) {}

  /** Bytes held right now, all clients together. */
  get bytes(): number {
    return this.total;
  }

  /** Bytes held right now by one client key. */
  bytesOf(client: string): number {
    return this.perClient.get(client) ?? 0;
  }

  open(client: string): InflightHold {
    let held = 0;
    let released = false;
    return {
      add: (bytes) => {
        if (released) return null;
        const mine = this.perClient.get(client) ?? 0;
        // The client's own cap first: one address filling its share is its problem, not load.
        if (mine + bytes > this.clientLimit) {
          return new DomainError(
            ErrorCode.RateLimited,
            'too many unverified webhook bytes in flight from this address',
            [],
            INFLIGHT_RETRY_AFTER_SECONDS,
          );
        }
        if (this.total + bytes > this.globalLimit) {
          return new DomainError(
            ErrorCode.Unavailable,
            'too many unverified webhook bytes in flight; try again shortly',
            [],
            INFLIGHT_RETRY_AFTER_SECONDS,
          );
        }
        held += bytes;
        this.total += bytes;
        this.perClient.set(client, mine + bytes);
        return null;
      },
      release: () => {
        if (released) return;
        released = true;
        if (held === 0) return;
        this.total -= held;
        const left = (this.perClient.get(client) ?? 0) - held;
        if (left > 0) this.perClient.set(client, left);
        else this.perClient.delete(client);
        held = 0;
      },
    };
  }
}
