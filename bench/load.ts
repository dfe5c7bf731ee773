import { randomUUID } from 'node:crypto';
import examples from '@octokit/webhooks-examples';
import { routeEvent } from '@app/domain';
import { signGithubPayload } from '@app/github';
import type { ConnectionContext, RequestParams, RequestSpec } from './autocannon';

export const WEBHOOK_PATH = '/api/v1/webhooks/github';

/**
 * One real GitHub example, serialised once. Each request sends it with a unique `bench_delivery`
 * field first and signs it then: the intake refuses a body it already stored under another
 * delivery id (the payload replay guard), as it should refuse a replayed capture.
 */
export interface PayloadTemplate {
  event: string;
  label: string;
  body: Buffer;
  secret: string;
}

/** The template's body made unique by the delivery id, and its signature. */
export function uniqueBody(
  template: PayloadTemplate,
  deliveryId: string,
): { body: Buffer; signature: string } {
  const body = Buffer.concat([
    Buffer.from(`{"bench_delivery":${JSON.stringify(deliveryId)},`),
    template.body.subarray(1),
  ]);
  return { body, signature: signGithubPayload(body, template.secret) };
}

type Payload = Record<string, unknown>;
const definitions = examples as unknown as Array<{ name: string; examples: Payload[] }>;

function examplesOf(event: string): Payload[] {
  const found = definitions.find((d) => d.name === event);
  if (!found) throw new Error(`@octokit/webhooks-examples has no ${event} examples`);
  return found.examples.map((p) => structuredClone(p));
}

function read(p: Payload, ...path: string[]): unknown {
  let value: unknown = p;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Payload)[key];
  }
  return value;
}

/**
 * Payloads that each imply exactly one task, so the orchestrator stores what the baseline stores
 * (one event, one task, one job) and neither side is flattered by ignored deliveries:
 * - pull_request: opened / reopened / synchronize / ready_for_review;
 * - check_run: completed with `failure`;
 * - check_suite: the completed examples linked to a PR, with the conclusion set to `failure`
 *   (the package has no failing suite; it is the only edit made to a payload);
 * - push: to the default branch.
 */
const SELECTION: Record<string, { pick: (p: Payload) => boolean; edit?: (p: Payload) => void }> = {
  pull_request: {
    pick: (p) =>
      ['opened', 'reopened', 'synchronize', 'ready_for_review'].includes(String(p.action)),
  },
  check_run: {
    pick: (p) => p.action === 'completed' && read(p, 'check_run', 'conclusion') === 'failure',
  },
  check_suite: {
    pick: (p) =>
      p.action === 'completed' &&
      Array.isArray(read(p, 'check_suite', 'pull_requests')) &&
      (read(p, 'check_suite', 'pull_requests') as unknown[]).length > 0,
    edit: (p) => {
      (p.check_suite as Payload).conclusion = 'failure';
    },
  },
  push: {
    pick: (p) =>
      typeof p.ref === 'string' &&
      p.ref === `refs/heads/${String(read(p, 'repository', 'default_branch'))}` &&
      p.deleted !== true,
  },
};

/** Share of the load per event type, out of 20 slots (60 / 20 / 15 / 5 %). */
export const MIX: ReadonlyArray<[event: string, slots: number]> = [
  ['pull_request', 12],
  ['check_run', 4],
  ['check_suite', 3],
  ['push', 1],
];

/** Builds and signs the templates of `event`, checking each one routes to exactly one task. */
export function templatesFor(event: string, secret: string): PayloadTemplate[] {
  const rule = SELECTION[event];
  const out: PayloadTemplate[] = [];
  for (const payload of examplesOf(event).filter(rule.pick)) {
    rule.edit?.(payload);
    const outcome = routeEvent(event, payload);
    if (outcome.kind !== 'tasks' || outcome.tasks.length !== 1) continue;
    // GitHub sends compact JSON.
    const body = Buffer.from(JSON.stringify(payload));
    out.push({
      event,
      label: `${event}:${String(payload.action ?? payload.ref)}`,
      body,
      secret,
    });
  }
  if (out.length === 0) throw new Error(`no ${event} example routes to exactly one task`);
  return out;
}

/** Which event each successive request carries, and the templates of each event. */
export interface LoadPlan {
  pattern: string[];
  templates: Map<string, PayloadTemplate[]>;
}

/** The 60/20/15/5 mix as a 20-slot pattern, each event's slots spread evenly over it. */
export function mixedPlan(secret: string): LoadPlan {
  const total = MIX.reduce((n, [, slots]) => n + slots, 0);
  const placed = new Map<string, number>();
  const pattern: string[] = [];
  for (let i = 0; i < total; i++) {
    let best = MIX[0][0];
    let bestLag = -Infinity;
    for (const [event, slots] of MIX) {
      const lag = ((i + 1) * slots) / total - (placed.get(event) ?? 0);
      if (lag > bestLag) {
        bestLag = lag;
        best = event;
      }
    }
    placed.set(best, (placed.get(best) ?? 0) + 1);
    pattern.push(best);
  }
  return { pattern, templates: new Map(MIX.map(([e]) => [e, templatesFor(e, secret)])) };
}

/** Only pushes to the default branch: tasks the worker finishes without GitHub or Codegen. */
export function pushPlan(secret: string): LoadPlan {
  return { pattern: ['push'], templates: new Map([['push', templatesFor('push', secret)]]) };
}

/** What one acknowledged or refused request left behind. */
export interface DeliveryLog {
  /** Delivery ids answered 2xx, with the wall-clock time (ms) their request was written. */
  acknowledged: Map<string, number>;
  /** Status code → count, for everything that was not 2xx. */
  refused: Map<number, number>;
  /** A few bodies of refused requests, for the report. */
  samples: string[];
}

export function newDeliveryLog(): DeliveryLog {
  return { acknowledged: new Map(), refused: new Map(), samples: [] };
}

/**
 * An autocannon request that sends the next payload of `plan` with a fresh delivery id on every
 * write, and records the id when the answer is 2xx. All connections share the counters, so the
 * mix holds over the whole run.
 */
export function deliveryRequest(plan: LoadPlan, log: DeliveryLog): RequestSpec {
  let slot = 0;
  const nextOf = new Map<string, number>();
  return {
    method: 'POST',
    path: WEBHOOK_PATH,
    setupRequest: (request: RequestParams, context: ConnectionContext): RequestParams => {
      const event = plan.pattern[slot++ % plan.pattern.length];
      const templates = plan.templates.get(event) ?? [];
      const index = nextOf.get(event) ?? 0;
      nextOf.set(event, index + 1);
      const template = templates[index % templates.length];
      const deliveryId = randomUUID();
      const { body, signature } = uniqueBody(template, deliveryId);
      context.deliveryId = deliveryId;
      context.sentAt = Date.now();
      return {
        ...request,
        method: 'POST',
        path: WEBHOOK_PATH,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/bench',
          'x-github-event': template.event,
          'x-github-delivery': deliveryId,
          'x-github-hook-id': '1',
          'x-hub-signature-256': signature,
        },
        body,
      };
    },
    onResponse: (status: number, body: string, context: ConnectionContext): void => {
      if (status >= 200 && status < 300) {
        log.acknowledged.set(context.deliveryId as string, context.sentAt as number);
        return;
      }
      log.refused.set(status, (log.refused.get(status) ?? 0) + 1);
      if (log.samples.length < 5) log.samples.push(`${status} ${body.slice(0, 300)}`);
    },
  };
}
