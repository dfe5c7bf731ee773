import { collectDefaultMetrics, Registry } from 'prom-client';

/** Injection token of the app's Prometheus registry. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

/**
 * One registry per app instance (not prom-client's global one), so an orchestrator and a worker
 * booted in one test process each expose exactly their own metrics.
 */
export function createMetricsRegistry(options: { processMetrics: boolean }): Registry {
  const registry = new Registry();
  // Process CPU, memory, event loop lag, GC, handles: only worth collecting when scraped.
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Seconds since `startedAt` (a `performance.now()` reading). */
export function secondsSince(startedAt: number): number {
  return Math.max(0, (performance.now() - startedAt) / 1000);
}
