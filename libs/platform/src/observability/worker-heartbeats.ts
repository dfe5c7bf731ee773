import type { Redis } from 'ioredis';
import type { WorkerSnapshot } from './service-health';

const MAX_SNAPSHOT_BYTES = 16 * 1024;

/**
 * Worker heartbeats in one Redis hash (`<prefix>:workers`, one field per worker id), so the
 * orchestrator's health check sees which workers are alive and what they know about GitHub and
 * Codegen without calling either. Expired fields are dropped by whoever reads them.
 */
export class WorkerHeartbeats {
  private readonly key: string;

  constructor(
    private readonly redis: () => Redis,
    prefix: string,
    private readonly timeoutMs = 1000,
  ) {
    this.key = `${prefix}:workers`;
  }

  async publish(snapshot: WorkerSnapshot): Promise<void> {
    await this.bounded(this.client().hset(this.key, snapshot.worker_id, JSON.stringify(snapshot)));
  }

  /**
   * Resolves true once the Redis connection is ready (at once when it is), false after
   * `timeoutMs` without it.
   */
  async whenReady(timeoutMs: number): Promise<boolean> {
    const client = this.redis();
    if (client.status === 'ready') return true;
    return new Promise<boolean>((resolve) => {
      const done = (ready: boolean): void => {
        clearTimeout(timer);
        client.off('ready', onReady);
        resolve(ready);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      client.once('ready', onReady);
    });
  }

  async remove(workerId: string): Promise<void> {
    await this.bounded(this.client().hdel(this.key, workerId));
  }

  /** Heartbeats that have not expired; expired ones are deleted on the way. */
  async live(now = Date.now()): Promise<WorkerSnapshot[]> {
    const all = await this.bounded(this.client().hgetall(this.key));
    const alive: WorkerSnapshot[] = [];
    const expired: string[] = [];
    for (const [field, raw] of Object.entries(all)) {
      const snapshot = parseSnapshot(raw);
      if (snapshot && snapshot.expires_at > now) alive.push(snapshot);
      else expired.push(field);
    }
    if (expired.length > 0) {
      await this.bounded(this.client().hdel(this.key, ...expired)).catch(() => undefined);
    }
    return alive;
  }

  /** Fails fast when Redis is not connected instead of queueing the command. */
  private client(): Redis {
    const client = this.redis();
    if (client.status !== 'ready') throw new Error(`redis is ${client.status}`);
    return client;
  }

  private bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('redis did not answer in time')), this.timeoutMs);
    });
    promise.catch(() => undefined);
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

function parseSnapshot(raw: string): WorkerSnapshot | null {
  if (raw.length > MAX_SNAPSHOT_BYTES) return null;
  try {
    const value = JSON.parse(raw) as Partial<WorkerSnapshot>;
    if (
      typeof value?.worker_id !== 'string' ||
      typeof value.at !== 'number' ||
      typeof value.expires_at !== 'number' ||
      typeof value.services !== 'object' ||
      value.services === null
    ) {
      return null;
    }
    return value as WorkerSnapshot;
  } catch {
    return null;
  }
}
