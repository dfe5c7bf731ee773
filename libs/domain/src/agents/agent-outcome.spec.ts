import {
  AgentRunRecord,
  judgeAgentRun,
  MAX_OBSERVATIONS,
  OutcomeEvent,
  OutcomeRules,
  timeToGreenSeconds,
} from './agent-outcome';

const RULES: OutcomeRules = {
  agentPusherLogins: ['codegen-sh[bot]'],
  windowMs: 2 * 3600_000,
  includeCancelledChecks: false,
};
const FAILED_AT = new Date('2026-12-01T10:00:00Z');
const NOW = new Date('2026-12-01T10:30:00Z');

function record(overrides: Partial<AgentRunRecord> = {}): AgentRunRecord {
  return {
    outcome: 'pending',
    checkScope: 'check_run',
    failingChecks: ['ci / test'],
    failingCheckCompletedAt: FAILED_AT,
    headSha: 'aaa',
    prNumber: 7,
    agentPrNumbers: [],
    agentHeadSha: null,
    finishedAt: null,
    observations: [],
    ...overrides,
  };
}

function check(
  conclusion: string | null,
  overrides: Partial<Extract<OutcomeEvent, { kind: 'check_completed' }>> = {},
): OutcomeEvent {
  return {
    kind: 'check_completed',
    scope: 'check_run',
    name: 'ci / test',
    conclusion,
    headSha: 'bbb',
    prNumbers: [7],
    completedAt: new Date('2026-12-01T10:14:00Z'),
    ...overrides,
  };
}

const agentPush: OutcomeEvent = {
  kind: 'head_pushed',
  prNumber: 7,
  after: 'bbb',
  pusher: 'codegen-sh[bot]',
};

/** Applies events in order as the worker does, storing each decision. */
function replay(start: AgentRunRecord, events: OutcomeEvent[], rules = RULES) {
  let current = start;
  const decisions = [];
  for (const event of events) {
    const decision = judgeAgentRun(current, event, rules, NOW);
    decisions.push(decision);
    if (decision) current = { ...current, ...decision };
  }
  return { current, decisions };
}

describe('judgeAgentRun', () => {
  it('the agent pushes, then the failed check passes on its commit: fixed, with the time to green', () => {
    const { current, decisions } = replay(record(), [agentPush, check('success')]);
    expect(decisions[0]).toMatchObject({ outcome: 'pending', agentHeadSha: 'bbb' });
    expect(current).toMatchObject({
      outcome: 'fixed',
      judgedSha: 'bbb',
      judgedAt: NOW,
      timeToGreenSeconds: 14 * 60,
      observations: [],
    });
  });

  it('the same check fails again on the agent commit: still_failing, naming it', () => {
    const { current } = replay(record(), [agentPush, check('timed_out')]);
    expect(current.outcome).toBe('still_failing');
    expect(
      (current as unknown as { failedAgain: Array<{ name: string; conclusion: string }> })
        .failedAgain,
    ).toEqual([expect.objectContaining({ name: 'ci / test', conclusion: 'timed_out' })]);
  });

  it('out of order: the success delivered before the agent synchronize still judges fixed, once', () => {
    const { current, decisions } = replay(record(), [check('success'), agentPush]);
    expect(decisions[0]).toMatchObject({ outcome: 'pending', agentHeadSha: null });
    expect(decisions[0]?.observations).toHaveLength(1);
    expect(current).toMatchObject({ outcome: 'fixed', timeToGreenSeconds: 840 });
    // The redelivered synchronize and check change nothing more.
    expect(judgeAgentRun(current, agentPush, RULES, NOW)).toBeNull();
    expect(judgeAgentRun(current, check('success'), RULES, NOW)).toBeNull();
  });

  it('a redelivered check on a commit not yet known to be the agent stores nothing twice', () => {
    const { decisions } = replay(record(), [check('success'), check('success')]);
    expect(decisions[1]).toBeNull();
  });

  it('a human pushes before the agent commit is judged: superseded', () => {
    const human: OutcomeEvent = { kind: 'head_pushed', prNumber: 7, after: 'ccc', pusher: 'alice' };
    expect(replay(record(), [human]).current).toMatchObject({
      outcome: 'superseded',
      judgedSha: 'ccc',
    });
    const { current } = replay(record(), [agentPush, human, check('success')]);
    expect(current.outcome).toBe('superseded');
  });

  it('pusher logins compare case-insensitively and can be several', () => {
    const rules = { ...RULES, agentPusherLogins: ['codegen-sh[bot]', 'fixer-bot'] };
    const pushes: OutcomeEvent[] = [
      { kind: 'head_pushed', prNumber: 7, after: 'bbb', pusher: 'Fixer-Bot' },
      check('success'),
    ];
    expect(replay(record(), pushes, rules).current.outcome).toBe('fixed');
    expect(replay(record(), pushes).current.outcome).toBe('superseded');
  });

  it('a synchronize that re-announces the run head, or on another pull request, changes nothing', () => {
    const same: OutcomeEvent = { kind: 'head_pushed', prNumber: 7, after: 'aaa', pusher: 'alice' };
    const other: OutcomeEvent = { kind: 'head_pushed', prNumber: 8, after: 'zzz', pusher: 'alice' };
    expect(judgeAgentRun(record(), same, RULES, NOW)).toBeNull();
    expect(judgeAgentRun(record(), other, RULES, NOW)).toBeNull();
  });

  it('checks on commits no run touched, on the run head, of other names or scopes change nothing', () => {
    // Once the run has ended its pull requests are known: another PR's check is not the agent's.
    const pushed = record({ agentHeadSha: 'bbb', finishedAt: FAILED_AT });
    expect(
      judgeAgentRun(pushed, check('success', { prNumbers: [9], headSha: 'ddd' }), RULES, NOW),
    ).toBeNull();
    expect(
      judgeAgentRun(pushed, check('success', { prNumbers: [], headSha: 'ddd' }), RULES, NOW),
    ).toBeNull();
    expect(judgeAgentRun(pushed, check('success', { headSha: 'aaa' }), RULES, NOW)).toBeNull();
    expect(judgeAgentRun(pushed, check('success', { name: 'lint' }), RULES, NOW)).toBeNull();
    expect(
      judgeAgentRun(pushed, check('success', { scope: 'check_suite' }), RULES, NOW),
    ).toBeNull();
  });

  it('neutral, skipped and (by default) cancelled judge nothing; cancelled fails under include_cancelled_checks', () => {
    for (const conclusion of ['neutral', 'skipped', 'cancelled', null]) {
      expect(replay(record(), [agentPush, check(conclusion)]).current.outcome).toBe('pending');
    }
    const rules = { ...RULES, includeCancelledChecks: true };
    expect(replay(record(), [agentPush, check('cancelled')], rules).current.outcome).toBe(
      'still_failing',
    );
  });

  it('several failing checks: fixed only when every one passes on the agent commit', () => {
    const two = record({ failingChecks: ['ci / test', 'ci / lint'] });
    const first = replay(two, [agentPush, check('success')]);
    expect(first.current.outcome).toBe('pending');
    const both = replay(first.current, [
      check('success', { name: 'ci / lint', completedAt: new Date('2026-12-01T10:20:00Z') }),
    ]);
    expect(both.current).toMatchObject({ outcome: 'fixed', timeToGreenSeconds: 20 * 60 });
    expect(replay(first.current, [check('failure', { name: 'ci / lint' })]).current.outcome).toBe(
      'still_failing',
    );
  });

  it('a re-run of the check on the same agent commit replaces the earlier result', () => {
    const two = record({ failingChecks: ['ci / test', 'ci / lint'] });
    const { current } = replay(two, [
      check('success', { name: 'ci / lint' }),
      check('failure', { name: 'ci / lint', completedAt: new Date('2026-12-01T10:20:00Z') }),
      // An older result delivered late does not overwrite the newer one.
      check('success', { name: 'ci / lint', completedAt: new Date('2026-12-01T10:10:00Z') }),
      agentPush,
    ]);
    expect(current.outcome).toBe('still_failing');
  });

  it('suites are judged by the suite', () => {
    const suite = record({ checkScope: 'check_suite', failingChecks: ['github-actions'] });
    const { current } = replay(suite, [
      agentPush,
      check('success', { scope: 'check_suite', name: 'github-actions' }),
    ]);
    expect(current.outcome).toBe('fixed');
    expect(
      replay(suite, [
        agentPush,
        check('startup_failure', { scope: 'check_suite', name: 'github-actions' }),
      ]).current.outcome,
    ).toBe('still_failing');
  });

  it('a pull request the agent opened: its checks judge the run once the run reports it', () => {
    const finished: OutcomeEvent = {
      kind: 'run_finished',
      succeeded: true,
      agentPrNumbers: [12],
      at: new Date('2026-12-01T10:05:00Z'),
    };
    const { current, decisions } = replay(record(), [
      finished,
      check('success', { prNumbers: [12], headSha: 'eee' }),
    ]);
    expect(decisions[0]).toMatchObject({ outcome: 'pending', agentPrNumbers: [12] });
    expect(current).toMatchObject({ outcome: 'fixed', judgedSha: 'eee', timeToGreenSeconds: 840 });
  });

  it("the agent pull request's check seen before the run reported it is judged when it does", () => {
    // A check on a commit of the original PR that carries the agent PR too (same head).
    const early = check('success', { prNumbers: [7, 12], headSha: 'eee' });
    const finished: OutcomeEvent = {
      kind: 'run_finished',
      succeeded: true,
      agentPrNumbers: [12],
      at: NOW,
    };
    expect(replay(record(), [early, finished]).current.outcome).toBe('fixed');
  });

  it("the agent's new pull request fails before the run reports it: kept, then still_failing at the run's end", () => {
    const early = check('failure', { prNumbers: [12], headSha: 'eee' });
    const kept = judgeAgentRun(record(), early, RULES, NOW);
    expect(kept).toMatchObject({ outcome: 'pending', observations: [{ sha: 'eee' }] });
    const finished: OutcomeEvent = {
      kind: 'run_finished',
      succeeded: true,
      agentPrNumbers: [12],
      at: NOW,
    };
    const { current } = replay(record(), [
      early,
      check('failure', { prNumbers: [12], headSha: 'eee' }),
      finished,
    ]);
    expect(current).toMatchObject({
      outcome: 'still_failing',
      judgedSha: 'eee',
      failedAgain: [{ name: 'ci / test', sha: 'eee' }],
    });
  });

  it("a kept check of a pull request the run does not report is dropped at the run's end and judges nothing", () => {
    const other = check('success', { prNumbers: [13], headSha: 'fff' });
    const finished: OutcomeEvent = {
      kind: 'run_finished',
      succeeded: true,
      agentPrNumbers: [12],
      at: NOW,
    };
    const { current } = replay(record(), [other, finished]);
    expect(current).toMatchObject({ outcome: 'pending', agentPrNumbers: [12], observations: [] });
    // Nor does it judge later, once the run's pull requests are known.
    expect(judgeAgentRun(current, other, RULES, NOW)).toBeNull();
  });

  it('the pull request the run was sent to is never counted as the agent own', () => {
    const finishedAt = new Date(NOW.getTime() - RULES.windowMs);
    const finished: OutcomeEvent = {
      kind: 'run_finished',
      succeeded: true,
      agentPrNumbers: [7],
      at: finishedAt,
    };
    const { current } = replay(record(), [finished, { kind: 'window_elapsed' }]);
    expect(current.outcome).toBe('no_change');
  });

  it('run ends without success: run_failed; a second end changes nothing', () => {
    const failed: OutcomeEvent = {
      kind: 'run_finished',
      succeeded: false,
      agentPrNumbers: [],
      at: NOW,
    };
    const { current } = replay(record(), [failed]);
    expect(current).toMatchObject({ outcome: 'run_failed', finishedAt: NOW, judgedAt: NOW });
    expect(judgeAgentRun(current, failed, RULES, NOW)).toBeNull();
    expect(judgeAgentRun(record({ finishedAt: NOW }), failed, RULES, NOW)).toBeNull();
  });

  it('no_change once the window has passed after the run ended with nothing from the agent', () => {
    const finishedAt = new Date(NOW.getTime() - RULES.windowMs);
    expect(
      judgeAgentRun(record({ finishedAt }), { kind: 'window_elapsed' }, RULES, NOW),
    ).toMatchObject({
      outcome: 'no_change',
    });
    const early = new Date(NOW.getTime() - RULES.windowMs + 1000);
    expect(
      judgeAgentRun(record({ finishedAt: early }), { kind: 'window_elapsed' }, RULES, NOW),
    ).toBeNull();
    expect(judgeAgentRun(record(), { kind: 'window_elapsed' }, RULES, NOW)).toBeNull();
    expect(
      judgeAgentRun(
        record({ finishedAt, agentHeadSha: 'bbb' }),
        { kind: 'window_elapsed' },
        RULES,
        NOW,
      ),
    ).toBeNull();
    expect(
      judgeAgentRun(
        record({ finishedAt, agentPrNumbers: [12] }),
        { kind: 'window_elapsed' },
        RULES,
        NOW,
      ),
    ).toBeNull();
  });

  it('a judged outcome is never judged again', () => {
    for (const outcome of [
      'fixed',
      'still_failing',
      'superseded',
      'no_change',
      'run_failed',
    ] as const) {
      const judged = record({ outcome, agentHeadSha: 'bbb' });
      expect(judgeAgentRun(judged, check('failure'), RULES, NOW)).toBeNull();
      expect(
        judgeAgentRun(
          judged,
          { kind: 'head_pushed', prNumber: 7, after: 'x', pusher: 'a' },
          RULES,
          NOW,
        ),
      ).toBeNull();
    }
  });

  it('keeps at most MAX_OBSERVATIONS observations, the newest', () => {
    let current = record();
    for (let i = 0; i < MAX_OBSERVATIONS + 5; i += 1) {
      const decision = judgeAgentRun(current, check('success', { headSha: `sha${i}` }), RULES, NOW);
      if (decision) current = { ...current, ...decision };
    }
    expect(current.observations).toHaveLength(MAX_OBSERVATIONS);
    expect(current.observations.at(-1)?.sha).toBe(`sha${MAX_OBSERVATIONS + 4}`);
  });

  it('time to green is never negative and unknown without the failing time', () => {
    expect(timeToGreenSeconds(FAILED_AT, new Date('2026-12-01T09:00:00Z'))).toBe(0);
    expect(timeToGreenSeconds(null, NOW)).toBeNull();
  });
});
