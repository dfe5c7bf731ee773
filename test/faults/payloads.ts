import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { signGithubPayload } from '@app/github';

const requireJson = createRequire(__filename);
export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- GitHub payloads are edited freely

/** A copy of one of GitHub's published example payloads of `event`. */
export function example(event: string, predicate: (p: Json) => boolean = () => true): Json {
  const all = requireJson('@octokit/webhooks-examples/api.github.com/index.json') as Array<{
    name: string;
    examples: Json[];
  }>;
  const found = all.find((e) => e.name === event)?.examples.find(predicate);
  if (!found) throw new Error(`no example for ${event}`);
  return structuredClone(found);
}

/** A pull request of the fault runs and the head commit its events name. */
export interface FaultPullRequest {
  number: number;
  sha: string;
}

/** PRs of the fault runs: each has a fixed head SHA, so agent-run safety checks pass. */
export const FAULT_PRS: FaultPullRequest[] = Array.from({ length: 12 }, (_, i) => ({
  number: 100 + i,
  sha: (i + 1).toString(16).repeat(40).slice(0, 40),
}));

export interface Delivery {
  guid: string;
  event: string;
  body: string;
}

/** A push of commit `after` to the repository's default branch (no outside call follows). */
export function pushToDefaultBranch(after: string): Json {
  const payload = example('push');
  payload.ref = `refs/heads/${payload.repository.default_branch}`;
  payload.deleted = false;
  payload.after = after;
  return payload;
}

/** A ready (not draft) pull request opened, or synchronized to its head `pr.sha`. */
export function pullRequestEvent(action: 'opened' | 'synchronize', pr: FaultPullRequest): Json {
  const payload = example('pull_request', (p) => p.action === 'opened');
  payload.action = action;
  if (action === 'synchronize') {
    payload.before = 'e'.repeat(40);
    payload.after = pr.sha;
  }
  payload.pull_request.number = pr.number;
  payload.number = pr.number;
  payload.pull_request.head.sha = pr.sha;
  payload.pull_request.draft = false;
  return payload;
}

/** A check run named `name` completed with `failure` on the head of `pr`, as GitHub sends it. */
export function failedCheckRun(name: string, pr: FaultPullRequest): Json {
  const payload = example('check_run', (p) => p.action === 'completed');
  payload.check_run.name = name;
  payload.check_run.conclusion = 'failure';
  payload.check_run.head_sha = pr.sha;
  payload.check_run.pull_requests = [
    {
      url: 'x',
      id: pr.number,
      number: pr.number,
      head: { ref: `branch-${pr.number}`, sha: pr.sha, repo: payload.repository },
      base: { ref: 'main', sha: 'f'.repeat(40), repo: payload.repository },
    },
  ];
  return payload;
}

/** Check suite `suiteId` completed with `failure` on the head of `pr`. */
export function failedCheckSuite(suiteId: number, pr: FaultPullRequest): Json {
  const payload = example('check_suite', (p) => p.action === 'completed');
  payload.check_suite.id = suiteId;
  payload.check_suite.conclusion = 'failure';
  payload.check_suite.head_sha = pr.sha;
  payload.check_suite.pull_requests = [
    {
      number: pr.number,
      head: { ref: `branch-${pr.number}`, sha: pr.sha },
      base: { ref: 'main', sha: 'f'.repeat(40) },
    },
  ];
  return payload;
}

/**
 * One delivery of `payload` under a new GUID. Every delivery is a distinct body, as GitHub's
 * are: the intake refuses a stored body under a new delivery id (a redelivery re-sends the same
 * GUID and body).
 */
export function newDelivery(event: string, payload: Json): Delivery {
  const guid = randomUUID();
  payload.fault_delivery = guid;
  return { guid, event, body: JSON.stringify(payload) };
}

/**
 * Sends `d` signed to the orchestrator at `base` as GitHub does (10 s timeout) and returns its
 * status and body; a network failure (connection refused or cut, timeout) throws.
 */
export async function postDelivery(
  base: string,
  d: Delivery,
  secret: string,
): Promise<{ status: number; answer: string }> {
  const res = await fetch(`${base}/api/v1/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-delivery': d.guid,
      'x-github-event': d.event,
      'x-hub-signature-256': signGithubPayload(d.body, secret),
    },
    body: d.body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, answer: await res.text() };
}
