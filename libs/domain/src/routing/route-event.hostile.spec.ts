import examples from '@octokit/webhooks-examples';
import { routeEvent, SUPPORTED_EVENT_TYPES } from './route-event';
import { ROUTING_LIMITS, RouteOutcome, TaskDraft } from './routing.types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are mutated freely to build variants
type Payload = Record<string, any>;

const definitions = examples as unknown as Array<{ name: string; examples: Payload[] }>;

function exampleOf(event: string, filter: (p: Payload) => boolean = () => true): Payload {
  const found = definitions.find((d) => d.name === event)?.examples.find(filter);
  if (!found) throw new Error(`no matching example for ${event}`);
  return structuredClone(found);
}

const openedPr = (): Payload => exampleOf('pull_request', (p) => p.action === 'opened');
const failingRun = (): Payload =>
  exampleOf('check_run', (p) => p.action === 'completed' && p.check_run.conclusion === 'failure');

function tasksOf(outcome: RouteOutcome): TaskDraft[] {
  if (outcome.kind !== 'tasks') throw new Error(`expected tasks, got ${JSON.stringify(outcome)}`);
  return outcome.tasks;
}

describe('routeEvent against hostile payloads', () => {
  const notObjects: unknown[] = [null, undefined, [], [{ action: 'opened' }], 'x', '', 0, 42, true];

  it.each(SUPPORTED_EVENT_TYPES.map((e) => [e]))('%s: a payload that is not an object', (event) => {
    for (const payload of notObjects) {
      expect(routeEvent(event, payload)).toEqual({
        kind: 'ignored',
        action: null,
        reason: 'malformed_payload:not_an_object',
      });
    }
  });

  it('an unsupported event type wins over a broken payload', () => {
    expect(routeEvent('issues', null)).toEqual({
      kind: 'ignored',
      action: null,
      reason: 'unsupported_event_type',
    });
  });

  it.each([
    [
      'pull_request is a number',
      { action: 'opened', pull_request: 5 },
      'malformed_payload:pull_request',
    ],
    [
      'pull_request is an array',
      { action: 'opened', pull_request: [] },
      'malformed_payload:pull_request',
    ],
    ['action is missing', { pull_request: {} }, 'malformed_payload:action'],
    ['action is a number', { action: 1, pull_request: {} }, 'malformed_payload:action'],
  ])('pull_request: %s', (_label, payload, reason) => {
    expect(routeEvent('pull_request', payload)).toMatchObject({ kind: 'ignored', reason });
  });

  it.each([
    ['a numeric string', '2'],
    ['a fraction', 2.5],
    ['zero', 0],
    ['negative', -3],
    ['beyond safe integers', 1e20],
    ['null', null],
    ['an object', { value: 2 }],
  ])('pull_request: a PR number that is %s', (_label, number) => {
    const payload = openedPr();
    payload.pull_request.number = number;
    payload.number = number;
    expect(routeEvent('pull_request', payload)).toMatchObject({
      kind: 'ignored',
      reason: 'malformed_payload:pull_request.number',
    });
  });

  it('pull_request: no repository full name', () => {
    const payload = openedPr();
    payload.repository = { full_name: 7 };
    expect(routeEvent('pull_request', payload)).toMatchObject({
      reason: 'malformed_payload:repository.full_name',
    });
  });

  it('caps strings copied into drafts and drops what is not a sha', () => {
    const payload = openedPr();
    payload.repository.full_name = 'o/' + 'r'.repeat(10_000);
    payload.pull_request.head.ref = 'b'.repeat(10_000);
    payload.pull_request.head.sha = 'not-a-sha';
    payload.pull_request.title = 't'.repeat(100_000);
    payload.pull_request.labels = Array.from({ length: 5000 }, (_, i) => ({ name: `l${i}` }));
    const [task] = tasksOf(routeEvent('pull_request', payload));
    expect(task.repository).toHaveLength(ROUTING_LIMITS.repository);
    expect(task.branch).toHaveLength(ROUTING_LIMITS.branch);
    expect(task.commitSha).toBeNull();
    expect(task.inputData.title).toHaveLength(ROUTING_LIMITS.text);
    expect(task.inputData.labels).toHaveLength(ROUTING_LIMITS.labels);
  });

  it('accepts SHA-256 commit ids and lower-cases them', () => {
    const payload = openedPr();
    payload.pull_request.head.sha = 'A'.repeat(64);
    expect(tasksOf(routeEvent('pull_request', payload))[0].commitSha).toBe('a'.repeat(64));
  });

  it('removes NUL and repairs lone surrogates, which PostgreSQL rejects', () => {
    const payload = openedPr();
    payload.pull_request.title = 'fix\u0000 bug \uD800 end';
    payload.pull_request.head.ref = 'x'.repeat(254) + '\uD83D\uDE00';
    const [task] = tasksOf(routeEvent('pull_request', payload));
    expect(task.inputData.title).toBe('fix bug \uFFFD end');
    expect(task.branch).toBe('x'.repeat(254));
  });

  it('wrong-typed optional fields read as null instead of failing the event', () => {
    const payload = openedPr();
    payload.pull_request.title = { evil: true };
    payload.pull_request.head = 'changes';
    payload.pull_request.labels = 'bug';
    payload.pull_request.draft = 'yes';
    payload.sender = [];
    const [task] = tasksOf(routeEvent('pull_request', payload));
    expect(task).toMatchObject({ prNumber: 2, branch: null, commitSha: null });
    expect(task.inputData).toMatchObject({
      title: null,
      labels: [],
      draft: false,
      sender_login: null,
      is_fork: true,
    });
  });

  it('never reads inherited properties such as constructor or __proto__', () => {
    const payload: unknown = JSON.parse(
      '{"__proto__": {"action": "opened"}, "pull_request": {"number": 2}, "repository": {"full_name": "o/r"}}',
    );
    expect(routeEvent('pull_request', payload)).toMatchObject({
      reason: 'malformed_payload:action',
    });
    expect(routeEvent('pull_request', { action: 'constructor' })).toMatchObject({
      reason: 'action_not_handled:constructor',
    });
  });

  it('keeps payload text out of reason codes', () => {
    const outcome = routeEvent('pull_request', { action: 'x\n<script>'.repeat(50) });
    expect(outcome.kind).toBe('ignored');
    const reason = outcome.kind === 'ignored' ? outcome.reason : '';
    expect(reason).toMatch(/^action_not_handled:[A-Za-z0-9_.-]{1,64}$/);
  });

  it.each([
    ['not an array', 'x', 'malformed_payload:check_run.pull_requests'],
    [
      'only junk entries',
      [null, 5, 'x', { number: '2' }, { number: 1.5 }],
      'malformed_payload:check_run.pull_requests.number',
    ],
  ])('check_run: pull_requests %s', (_label, pullRequests, reason) => {
    const payload = failingRun();
    payload.check_run.pull_requests = pullRequests;
    expect(routeEvent('check_run', payload)).toMatchObject({ kind: 'ignored', reason });
  });

  it('check_run: junk entries beside a good one are skipped', () => {
    const payload = failingRun();
    payload.check_run.pull_requests.unshift(null, { number: '3' });
    expect(tasksOf(routeEvent('check_run', payload)).map((t) => t.prNumber)).toEqual([2]);
  });

  it('check_run: a huge linked-PR array costs a bounded scan and yields at most 50 drafts', () => {
    const payload = failingRun();
    payload.check_run.pull_requests = Array.from({ length: 1_000_000 }, (_, i) => ({
      number: i + 1,
    }));
    const started = Date.now();
    const tasks = tasksOf(routeEvent('check_run', payload));
    expect(tasks).toHaveLength(ROUTING_LIMITS.tasksPerEvent);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it.each([
    ['check_run is a string', { check_run: 'x' }, 'malformed_payload:check_run'],
    [
      'conclusion is a number',
      { check_run: { conclusion: 1 } },
      'malformed_payload:check_run.conclusion',
    ],
    ['conclusion is null', { check_run: { conclusion: null } }, 'conclusion_not_failing:none'],
    [
      'id is a string',
      { check_run: { conclusion: 'failure', id: '12' } },
      'malformed_payload:check_run.id',
    ],
  ])('check_run: %s', (_label, body, reason) => {
    expect(routeEvent('check_run', { action: 'completed', ...body })).toMatchObject({
      kind: 'ignored',
      reason,
    });
  });

  it('check_suite: no suite object', () => {
    expect(routeEvent('check_suite', { action: 'completed', check_suite: [] })).toMatchObject({
      reason: 'malformed_payload:check_suite',
    });
  });

  it.each([
    ['ref missing', {}, 'malformed_payload:ref'],
    ['ref a number', { ref: 5 }, 'malformed_payload:ref'],
    ['empty branch name', { ref: 'refs/heads/' }, 'malformed_payload:ref'],
    [
      'after not a sha',
      { ref: 'refs/heads/main', after: 'zzz', repository: { full_name: 'o/r' } },
      'malformed_payload:after',
    ],
    [
      'no repository',
      { ref: 'refs/heads/main', after: 'a'.repeat(40) },
      'malformed_payload:repository.full_name',
    ],
    ['over-long branch', { ref: `refs/heads/${'b'.repeat(300)}` }, 'malformed_payload:ref'],
  ])('push: %s', (_label, payload, reason) => {
    expect(routeEvent('push', payload)).toMatchObject({ kind: 'ignored', reason });
  });

  it('ping: odd zen and hook id read as null', () => {
    expect(routeEvent('ping', { zen: 5, hook_id: '1' })).toEqual({
      kind: 'pong',
      zen: null,
      hookId: null,
    });
    expect(routeEvent('ping', { hook: { id: 3 } })).toEqual({ kind: 'pong', zen: null, hookId: 3 });
  });

  it.each([
    ['no action', { installation: { id: 1 } }, 'malformed_payload:action'],
    ['no installation', { action: 'created' }, 'malformed_payload:installation'],
    [
      'installation id as string',
      { action: 'created', installation: { id: '1' } },
      'malformed_payload:installation.id',
    ],
  ])('installation: %s', (_label, payload, reason) => {
    expect(routeEvent('installation', payload)).toMatchObject({ kind: 'ignored', reason });
  });

  it('installation_repositories: junk entries are skipped and names de-duplicated', () => {
    const payload = exampleOf('installation_repositories', (p) => p.action === 'added');
    payload.repositories_added = [
      null,
      5,
      { full_name: 9 },
      { full_name: 'a/b' },
      { full_name: 'a/b' },
    ];
    payload.repositories_removed = 'x';
    expect(routeEvent('installation_repositories', payload)).toMatchObject({
      change: { repositoriesAdded: ['a/b'], repositoriesRemoved: [] },
    });
  });

  it('a payload whose reads throw is ignored, not thrown', () => {
    const trap = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
        has() {
          throw new Error('boom');
        },
        getOwnPropertyDescriptor() {
          throw new Error('boom');
        },
      },
    );
    expect(routeEvent('pull_request', trap)).toEqual({
      kind: 'ignored',
      action: null,
      reason: 'malformed_payload:unreadable',
    });
  });

  it('survives random mutations of real payloads without throwing or breaking the caps', () => {
    // Deterministic PRNG so a failure is reproducible.
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const junk = (): unknown =>
      [null, 0, -1, 1.5, '', 'x'.repeat(5000), [], {}, true, [null], { number: '1' }][
        Math.floor(random() * 11)
      ];
    const mutate = (value: unknown, depth: number): unknown => {
      if (random() < 0.08) return junk();
      if (Array.isArray(value)) return value.map((v) => mutate(v, depth + 1));
      if (value && typeof value === 'object' && depth < 6) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mutate(v, depth + 1)]));
      }
      return value;
    };
    const bases: Array<[string, Payload]> = [
      ['pull_request', openedPr()],
      ['check_run', failingRun()],
      ['check_suite', exampleOf('check_suite', (p) => p.check_suite.pull_requests.length > 0)],
      ['push', exampleOf('push', (p) => p.ref === 'refs/heads/master')],
      ['ping', exampleOf('ping')],
      ['installation', exampleOf('installation', (p) => p.action === 'created')],
      ['installation_repositories', exampleOf('installation_repositories')],
    ];
    bases[1][1].check_run.conclusion = 'failure';
    bases[2][1].check_suite.conclusion = 'failure';
    let taskCount = 0;
    for (let round = 0; round < 300; round += 1) {
      for (const [event, base] of bases) {
        const outcome = routeEvent(event, mutate(base, 0));
        expect(['tasks', 'ignored', 'pong', 'installation']).toContain(outcome.kind);
        if (outcome.kind !== 'tasks') continue;
        for (const task of outcome.tasks) {
          taskCount += 1;
          expect(Number.isSafeInteger(task.prNumber ?? 1)).toBe(true);
          expect((task.repository ?? '').length).toBeLessThanOrEqual(ROUTING_LIMITS.repository);
          expect((task.branch ?? '').length).toBeLessThanOrEqual(ROUTING_LIMITS.branch);
          expect((task.commitSha ?? '').length).toBeLessThanOrEqual(ROUTING_LIMITS.sha);
        }
      }
    }
    // The mutations must still let real payloads through, or this test proves nothing.
    expect(taskCount).toBeGreaterThan(50);
  });
});
