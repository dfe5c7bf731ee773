import examples from '@octokit/webhooks-examples';
import { TaskType } from '../tasks/task-type';
import { routeEvent } from './route-event';
import { RouteOutcome, TaskDraft } from './routing.types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are mutated freely to build variants
type Payload = Record<string, any>;

const definitions = examples as unknown as Array<{ name: string; examples: Payload[] }>;

/** Deep copies of the real GitHub examples for `event`, optionally filtered. */
function examplesOf(event: string, filter: (p: Payload) => boolean = () => true): Payload[] {
  const definition = definitions.find((d) => d.name === event);
  if (!definition) throw new Error(`no examples for ${event}`);
  const found = definition.examples.filter(filter).map((p) => structuredClone(p));
  if (found.length === 0) throw new Error(`no matching example for ${event}`);
  return found;
}

function exampleOf(event: string, filter?: (p: Payload) => boolean): Payload {
  return examplesOf(event, filter)[0];
}

function tasksOf(outcome: RouteOutcome): TaskDraft[] {
  if (outcome.kind !== 'tasks') throw new Error(`expected tasks, got ${JSON.stringify(outcome)}`);
  return outcome.tasks;
}

const SHA = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';

describe('routeEvent: pull_request', () => {
  it.each(['opened', 'synchronize', 'reopened', 'ready_for_review'])(
    'turns every real %s example into exactly one pull_request_analysis draft',
    (action) => {
      for (const payload of examplesOf('pull_request', (p) => p.action === action)) {
        const outcome = routeEvent('pull_request', payload);
        expect(outcome).toMatchObject({ kind: 'tasks', action });
        const tasks = tasksOf(outcome);
        expect(tasks).toHaveLength(1);
        expect(tasks[0]).toMatchObject({
          taskType: TaskType.PullRequestAnalysis,
          repository: 'Codertocat/Hello-World',
          prNumber: 2,
          branch: 'changes',
          commitSha: SHA,
        });
        expect(tasks[0].inputData).toMatchObject({
          action,
          pr_number: 2,
          draft: false,
          title: payload.pull_request.title,
          html_url: 'https://github.com/Codertocat/Hello-World/pull/2',
          base_ref: 'master',
          head_repo_full_name: 'Codertocat/Hello-World',
          is_fork: false,
          labels: payload.pull_request.labels.map((l: Payload) => l.name),
          sender_login: 'Codertocat',
          sender_type: 'User',
        });
      }
    },
  );

  it('records before/after only for synchronize', () => {
    const sync = tasksOf(
      routeEvent(
        'pull_request',
        exampleOf('pull_request', (p) => p.action === 'synchronize'),
      ),
    );
    expect(sync[0].inputData).toMatchObject({
      before: 'f95f852bd8fca8fcc58a9a2d6c842781e32a215e',
      after: SHA,
    });
    const opened = tasksOf(
      routeEvent(
        'pull_request',
        exampleOf('pull_request', (p) => p.action === 'opened'),
      ),
    );
    expect(opened[0].inputData).not.toHaveProperty('before');
    expect(opened[0].inputData).not.toHaveProperty('after');
  });

  it('keeps the labels of a labelled pull request', () => {
    const payload = exampleOf('pull_request', (p) => p.action === 'reopened');
    expect(tasksOf(routeEvent('pull_request', payload))[0].inputData.labels).toEqual(['bug']);
  });

  it('carries the draft flag so the analysis can skip drafts', () => {
    const payload = exampleOf('pull_request', (p) => p.action === 'converted_to_draft');
    payload.action = 'opened';
    expect(tasksOf(routeEvent('pull_request', payload))[0].inputData.draft).toBe(true);
  });

  it('flags a pull request from a fork, and one whose fork was deleted', () => {
    const fork = exampleOf('pull_request', (p) => p.action === 'opened');
    fork.pull_request.head.repo.full_name = 'someone-else/Hello-World';
    expect(tasksOf(routeEvent('pull_request', fork))[0].inputData).toMatchObject({
      is_fork: true,
      head_repo_full_name: 'someone-else/Hello-World',
    });
    const gone = exampleOf('pull_request', (p) => p.action === 'opened');
    gone.pull_request.head.repo = null;
    expect(tasksOf(routeEvent('pull_request', gone))[0].inputData.is_fork).toBe(true);
  });

  it('ignores closed with action_not_handled:closed', () => {
    for (const payload of examplesOf('pull_request', (p) => p.action === 'closed')) {
      expect(routeEvent('pull_request', payload)).toEqual({
        kind: 'ignored',
        action: 'closed',
        reason: 'action_not_handled:closed',
      });
    }
  });

  it('ignores every other real action with its name in the reason', () => {
    const handled = ['opened', 'synchronize', 'reopened', 'ready_for_review'];
    const others = examplesOf('pull_request', (p) => !handled.includes(p.action));
    expect(others.length).toBeGreaterThan(10);
    for (const payload of others) {
      expect(routeEvent('pull_request', payload)).toEqual({
        kind: 'ignored',
        action: payload.action,
        reason: `action_not_handled:${payload.action}`,
      });
    }
  });

  it('falls back to the top-level number when pull_request.number is absent', () => {
    const payload = exampleOf('pull_request', (p) => p.action === 'opened');
    delete payload.pull_request.number;
    expect(tasksOf(routeEvent('pull_request', payload))[0].prNumber).toBe(2);
  });
});

describe('routeEvent: check_run', () => {
  const failingRun = (): Payload =>
    exampleOf('check_run', (p) => p.action === 'completed' && p.check_run.conclusion === 'failure');
  const successRun = (): Payload =>
    exampleOf('check_run', (p) => p.action === 'completed' && p.check_run.conclusion === 'success');

  it('turns the real failing run into one check_failure_analysis for its linked PR', () => {
    const outcome = routeEvent('check_run', failingRun());
    expect(outcome).toMatchObject({ kind: 'tasks', action: 'completed' });
    expect(tasksOf(outcome)).toEqual([
      {
        taskType: TaskType.CheckFailureAnalysis,
        repository: 'Codertocat/Hello-World',
        prNumber: 2,
        branch: 'changes',
        commitSha: SHA,
        inputData: {
          action: 'completed',
          check_run_id: 128620228,
          check_run_name: 'Octocoders-linter',
          conclusion: 'failure',
          details_url: 'https://octocoders.io',
          html_url: 'https://github.com/Codertocat/Hello-World/runs/128620228',
          head_sha: SHA,
          check_suite_id: 118578147,
          app_slug: 'github-actions',
          sender_login: 'Codertocat',
          sender_type: 'User',
          pr_number: 2,
        },
      },
    ]);
  });

  it('treats timed_out as failing', () => {
    const payload = successRun();
    payload.check_run.conclusion = 'timed_out';
    expect(tasksOf(routeEvent('check_run', payload))).toHaveLength(1);
  });

  it('ignores a successful run with conclusion_not_failing:success', () => {
    for (const payload of examplesOf(
      'check_run',
      (p) => p.action === 'completed' && p.check_run.conclusion === 'success',
    )) {
      expect(routeEvent('check_run', payload)).toEqual({
        kind: 'ignored',
        action: 'completed',
        reason: 'conclusion_not_failing:success',
      });
    }
  });

  it('counts cancelled only when the rules say so', () => {
    const payload = failingRun();
    payload.check_run.conclusion = 'cancelled';
    expect(routeEvent('check_run', payload)).toMatchObject({
      kind: 'ignored',
      reason: 'conclusion_not_failing:cancelled',
    });
    const tasks = tasksOf(routeEvent('check_run', payload, { includeCancelledChecks: true }));
    expect(tasks[0].inputData.conclusion).toBe('cancelled');
  });

  it('does not treat startup_failure as a failing run (suites only)', () => {
    const payload = failingRun();
    payload.check_run.conclusion = 'startup_failure';
    expect(routeEvent('check_run', payload)).toMatchObject({ kind: 'ignored' });
  });

  it.each(['created', 'requested_action', 'rerequested'])(
    'ignores the real %s examples',
    (action) => {
      for (const payload of examplesOf('check_run', (p) => p.action === action)) {
        expect(routeEvent('check_run', payload)).toEqual({
          kind: 'ignored',
          action,
          reason: `action_not_handled:${action}`,
        });
      }
    },
  );

  it('asks the worker to look PRs up by head SHA when none is linked (fork PRs)', () => {
    const payload = failingRun();
    payload.check_run.pull_requests = [];
    const tasks = tasksOf(routeEvent('check_run', payload));
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      prNumber: null,
      commitSha: SHA,
      inputData: { lookup_pull_requests: true, pr_number: null },
    });
  });

  it('ignores a failing run with neither linked PRs nor a head SHA', () => {
    const payload = failingRun();
    payload.check_run.pull_requests = [];
    payload.check_run.head_sha = 'not-a-sha';
    expect(routeEvent('check_run', payload)).toMatchObject({
      kind: 'ignored',
      reason: 'no_linked_pull_requests',
    });
  });

  it('makes one draft per linked PR, each with that PR’s number, head ref and sha', () => {
    const payload = failingRun();
    const template = payload.check_run.pull_requests[0];
    const other = structuredClone(template);
    other.number = 7;
    other.head.ref = 'feature/seven';
    other.head.sha = 'a'.repeat(40);
    payload.check_run.pull_requests.push(other, structuredClone(template));
    const tasks = tasksOf(routeEvent('check_run', payload));
    expect(tasks.map((t) => [t.prNumber, t.branch, t.commitSha, t.inputData.pr_number])).toEqual([
      [2, 'changes', SHA, 2],
      [7, 'feature/seven', 'a'.repeat(40), 7],
    ]);
  });

  it('caps the drafts of one event at 50', () => {
    const payload = failingRun();
    const template = payload.check_run.pull_requests[0];
    payload.check_run.pull_requests = Array.from({ length: 120 }, (_, i) => ({
      ...template,
      number: i + 1,
    }));
    const tasks = tasksOf(routeEvent('check_run', payload));
    expect(tasks).toHaveLength(50);
    expect(new Set(tasks.map((t) => t.prNumber)).size).toBe(50);
  });

  it('drops linked PRs whose base is another repository, then looks PRs up by SHA', () => {
    const payload = failingRun();
    payload.check_run.pull_requests[0].base.repo.id = 999;
    const tasks = tasksOf(routeEvent('check_run', payload));
    expect(tasks.map((t) => [t.prNumber, t.inputData.lookup_pull_requests])).toEqual([
      [null, true],
    ]);
  });
});

describe('routeEvent: check_suite', () => {
  const suiteWithPr = (): Payload =>
    exampleOf(
      'check_suite',
      (p) => p.action === 'completed' && p.check_suite.pull_requests.length > 0,
    );

  it.each(['failure', 'timed_out', 'startup_failure'])(
    'turns a %s suite into one check_suite_failure_analysis per linked PR',
    (conclusion) => {
      const payload = suiteWithPr();
      payload.check_suite.conclusion = conclusion;
      expect(tasksOf(routeEvent('check_suite', payload))).toEqual([
        {
          taskType: TaskType.CheckSuiteFailureAnalysis,
          repository: 'Codertocat/Hello-World',
          prNumber: 2,
          branch: 'changes',
          commitSha: SHA,
          inputData: {
            action: 'completed',
            check_suite_id: 118578147,
            conclusion,
            head_branch: 'changes',
            head_sha: SHA,
            app_slug: null,
            sender_login: 'Codertocat',
            sender_type: 'User',
            pr_number: 2,
          },
        },
      ]);
    },
  );

  it('reads the app slug when the suite has one', () => {
    const payload = suiteWithPr();
    payload.check_suite.conclusion = 'failure';
    payload.check_suite.app.slug = 'github-actions';
    expect(tasksOf(routeEvent('check_suite', payload))[0].inputData.app_slug).toBe(
      'github-actions',
    );
  });

  it('ignores the real successful suites', () => {
    for (const payload of examplesOf('check_suite', (p) => p.action === 'completed')) {
      expect(routeEvent('check_suite', payload)).toEqual({
        kind: 'ignored',
        action: 'completed',
        reason: 'conclusion_not_failing:success',
      });
    }
  });

  it('counts cancelled only when the rules say so', () => {
    const payload = suiteWithPr();
    payload.check_suite.conclusion = 'cancelled';
    expect(routeEvent('check_suite', payload)).toMatchObject({ kind: 'ignored' });
    expect(
      tasksOf(routeEvent('check_suite', payload, { includeCancelledChecks: true })),
    ).toHaveLength(1);
  });

  it.each(['requested', 'rerequested'])('ignores the real %s examples', (action) => {
    for (const payload of examplesOf('check_suite', (p) => p.action === action)) {
      expect(routeEvent('check_suite', payload)).toMatchObject({
        kind: 'ignored',
        reason: `action_not_handled:${action}`,
      });
    }
  });

  it('looks PRs up by head SHA for a failing suite without linked pull requests', () => {
    const payload = exampleOf(
      'check_suite',
      (p) => p.action === 'completed' && p.check_suite.pull_requests.length === 0,
    );
    payload.check_suite.conclusion = 'failure';
    const tasks = tasksOf(routeEvent('check_suite', payload));
    expect(tasks).toEqual([
      expect.objectContaining({
        prNumber: null,
        commitSha: payload.check_suite.head_sha,
        inputData: expect.objectContaining({ lookup_pull_requests: true }),
      }),
    ]);
  });
});

describe('routeEvent: push', () => {
  const branchPushes = (): Payload[] =>
    examplesOf('push', (p) => p.ref === 'refs/heads/master' && p.deleted === false);

  it('turns the real pushes to the default branch into one push_analysis each', () => {
    const pushes = branchPushes();
    expect(pushes.length).toBeGreaterThan(0);
    for (const payload of pushes) {
      const tasks = tasksOf(routeEvent('push', payload));
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({
        taskType: TaskType.PushAnalysis,
        repository: 'Codertocat/Hello-World',
        prNumber: null,
        branch: 'master',
        commitSha: payload.after,
      });
      expect(tasks[0].inputData).toMatchObject({
        ref: 'refs/heads/master',
        before: payload.before,
        after: payload.after,
        commit_count: payload.commits.length,
        compare_url: payload.compare,
        pusher: 'Codertocat',
        head_commit_id: payload.head_commit.id,
        head_commit_message: payload.head_commit.message,
      });
    }
  });

  it('ignores the real tag pushes, created or deleted', () => {
    for (const payload of examplesOf('push', (p) => p.ref.startsWith('refs/tags/'))) {
      expect(routeEvent('push', payload)).toEqual({
        kind: 'ignored',
        action: null,
        reason: 'tag_ref',
      });
    }
  });

  it('ignores a branch deletion, by flag or by the zero sha', () => {
    const flagged = branchPushes()[0];
    flagged.deleted = true;
    expect(routeEvent('push', flagged)).toMatchObject({ reason: 'branch_deleted' });
    const zero = branchPushes()[0];
    zero.after = '0'.repeat(40);
    expect(routeEvent('push', zero)).toMatchObject({ reason: 'branch_deleted' });
  });

  it('ignores pushes to other branches', () => {
    const payload = branchPushes()[0];
    payload.ref = 'refs/heads/feature';
    expect(routeEvent('push', payload)).toMatchObject({ reason: 'not_default_branch' });
  });

  it('follows the repository default branch over the main/master guess', () => {
    const payload = branchPushes()[0];
    payload.repository.default_branch = 'trunk';
    expect(routeEvent('push', payload)).toMatchObject({ reason: 'not_default_branch' });
    payload.ref = 'refs/heads/trunk';
    expect(tasksOf(routeEvent('push', payload))[0].branch).toBe('trunk');
  });

  it('accepts main or master when the payload names no default branch', () => {
    const payload = branchPushes()[0];
    delete payload.repository.default_branch;
    payload.ref = 'refs/heads/main';
    expect(tasksOf(routeEvent('push', payload))[0].branch).toBe('main');
    payload.ref = 'refs/heads/develop';
    expect(routeEvent('push', payload)).toMatchObject({ reason: 'not_default_branch' });
  });

  it('ignores refs that are neither branches nor tags', () => {
    const payload = branchPushes()[0];
    payload.ref = 'refs/notes/commits';
    expect(routeEvent('push', payload)).toMatchObject({ reason: 'unsupported_ref' });
  });
});

describe('routeEvent: ping, installation, others', () => {
  it('answers every real ping with its zen and hook id', () => {
    for (const payload of examplesOf('ping')) {
      expect(routeEvent('ping', payload)).toEqual({
        kind: 'pong',
        zen: 'Anything added dilutes everything else.',
        hookId: 109948940,
      });
    }
  });

  it('reads an installation created with its repositories as added', () => {
    const payload = exampleOf('installation', (p) => p.action === 'created');
    expect(routeEvent('installation', payload)).toEqual({
      kind: 'installation',
      action: 'created',
      change: {
        installationId: 957387,
        accountLogin: 'Codertocat',
        accountType: 'User',
        action: 'created',
        repositoriesAdded: ['Codertocat/Hello-World'],
        repositoriesRemoved: [],
        repositorySelection: 'selected',
      },
    });
  });

  it('reads an installation deleted with its repositories as removed', () => {
    const payload = exampleOf('installation', (p) => p.action === 'deleted');
    expect(routeEvent('installation', payload)).toMatchObject({
      kind: 'installation',
      change: {
        installationId: 2,
        repositoriesAdded: [],
        repositoriesRemoved: ['octocat/Hello-World'],
      },
    });
  });

  it.each(['suspend', 'unsuspend', 'new_permissions_accepted'])(
    'reads installation %s without repository changes',
    (action) => {
      const payload = exampleOf('installation', (p) => p.action === action);
      expect(routeEvent('installation', payload)).toMatchObject({
        kind: 'installation',
        action,
        change: { action, repositoriesAdded: [], repositoriesRemoved: [] },
      });
    },
  );

  it('reads installation_repositories added and removed as full names', () => {
    for (const payload of examplesOf('installation_repositories', (p) => p.action === 'added')) {
      expect(routeEvent('installation_repositories', payload)).toMatchObject({
        kind: 'installation',
        action: 'added',
        change: {
          installationId: 957387,
          accountLogin: 'Codertocat',
          repositoriesAdded: ['Codertocat/Space'],
          repositoriesRemoved: [],
          repositorySelection: 'selected',
        },
      });
    }
    const removed = exampleOf('installation_repositories', (p) => p.action === 'removed');
    expect(routeEvent('installation_repositories', removed)).toMatchObject({
      change: {
        installationId: 2,
        repositoriesAdded: [],
        repositoriesRemoved: ['octocat/Hello-World'],
      },
    });
  });

  it.each(['issues', 'workflow_run', 'pull_request_review', 'status', 'release'])(
    'ignores the real %s example as unsupported_event_type',
    (event) => {
      const payload = exampleOf(event);
      expect(routeEvent(event, payload)).toEqual({
        kind: 'ignored',
        action: typeof payload.action === 'string' ? payload.action : null,
        reason: 'unsupported_event_type',
      });
    },
  );

  it('matches event types exactly', () => {
    expect(routeEvent('Pull_Request', exampleOf('pull_request'))).toMatchObject({
      reason: 'unsupported_event_type',
    });
  });
});
