import { randomUUID } from 'node:crypto';
import {
  Delivery,
  FAULT_PRS,
  failedCheckRun,
  newDelivery,
  postDelivery,
  pullRequestEvent,
  pushToDefaultBranch,
} from './payloads';

/**
 * The fault runs' load: pushes to the default branch (no outside call), PRs opened without code
 * (analysis only) and failed check runs (agent runs; several per commit share one dedupe key).
 */
export function makeDelivery(i: number): Delivery {
  const roll = i % 10;
  const pr = FAULT_PRS[i % FAULT_PRS.length];
  if (roll < 5)
    return newDelivery('push', pushToDefaultBranch(randomUUID().replace(/-/g, '').padEnd(40, '0')));
  if (roll < 7) return newDelivery('pull_request', pullRequestEvent('opened', pr));
  return newDelivery('check_run', failedCheckRun(`unit tests ${i % 3}`, pr));
}

export interface LoadResult {
  sent: number;
  attempts: number;
  acknowledged: Set<string>;
  statusCounts: Record<string, number>;
  /** Latency of every attempt, ms. */
  latencies: number[];
  /** Deliveries never acknowledged even after re-sends. */
  unacknowledged: number;
}

/**
 * Sends `total` deliveries at `ratePerSecond`, like GitHub would, and re-sends the ones not
 * acknowledged (503, connection refused) later — the way the recovery job asks GitHub to.
 * Records every GUID that got a 2xx. Targets 127.0.0.1 only; bounded in count and time.
 */
export async function runLoad(options: {
  url: () => string;
  secret: string;
  total: number;
  ratePerSecond: number;
  onProgress?: (sent: number) => Promise<void> | void;
  resendRounds?: number;
}): Promise<LoadResult> {
  const result: LoadResult = {
    sent: 0,
    attempts: 0,
    acknowledged: new Set(),
    statusCounts: {},
    latencies: [],
    unacknowledged: 0,
  };
  const failed: Delivery[] = [];
  const inflight = new Set<Promise<void>>();
  const send = async (d: Delivery): Promise<boolean> => {
    result.attempts++;
    const started = performance.now();
    let status = 'error';
    try {
      const res = await postDelivery(options.url(), d, options.secret);
      status = String(res.status);
      if (res.status >= 200 && res.status < 300) result.acknowledged.add(d.guid);
      // 409 on a re-send means the first try was stored after all: it is acknowledged now.
      if (res.status === 409) result.acknowledged.add(d.guid);
      return res.status < 300 || res.status === 409;
    } catch {
      return false;
    } finally {
      result.latencies.push(performance.now() - started);
      result.statusCounts[status] = (result.statusCounts[status] ?? 0) + 1;
    }
  };
  const interval = 1000 / options.ratePerSecond;
  const start = performance.now();
  for (let i = 0; i < options.total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const d = makeDelivery(i);
    result.sent++;
    const p = send(d).then((ok) => {
      if (!ok) failed.push(d);
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (options.onProgress) await options.onProgress(result.sent);
  }
  await Promise.all(inflight);
  for (let round = 0; round < (options.resendRounds ?? 10) && failed.length > 0; round++) {
    await new Promise((r) => setTimeout(r, 1000));
    const batch = failed.splice(0, failed.length);
    for (const d of batch) if (!(await send(d))) failed.push(d);
  }
  result.unacknowledged = failed.length;
  return result;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
