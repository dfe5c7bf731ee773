import type { StoredAgentRunOutcome } from '@app/persistence';
import { outcomeLine } from './agent-outcomes.service';

function outcome(overrides: Partial<StoredAgentRunOutcome>): StoredAgentRunOutcome {
  return {
    id: '1',
    taskId: 't',
    repository: 'octo/app',
    prNumber: 7,
    triggerKind: 'check_failure',
    checkScope: 'check_run',
    failingChecks: ['unit tests'],
    failingCheckCompletedAt: null,
    headSha: 'a'.repeat(40),
    codegenRunId: '101',
    codegenStatus: 'COMPLETE',
    webUrl: null,
    agentPrNumbers: [],
    agentHeadSha: null,
    finishedAt: null,
    observations: [],
    outcome: 'pending',
    judgedSha: null,
    failedAgain: [],
    timeToGreenSeconds: null,
    followUpOf: null,
    followUpCount: 0,
    createdAt: new Date(),
    judgedAt: null,
    ...overrides,
  };
}

describe('outcomeLine (the PR comment)', () => {
  it('says how a run was judged, in the words the issue asks for', () => {
    expect(outcomeLine(outcome({}), 1)).toBeNull();
    expect(
      outcomeLine(
        outcome({ outcome: 'fixed', timeToGreenSeconds: 840, judgedSha: 'b'.repeat(40) }),
        1,
      ),
    ).toBe('✅ Fixed in 14 min: unit tests passed on `bbbbbbbbbbbb`.');
    expect(outcomeLine(outcome({ outcome: 'fixed', timeToGreenSeconds: 45 }), 1)).toContain(
      'Fixed in 45 s',
    );
    expect(outcomeLine(outcome({ outcome: 'fixed', timeToGreenSeconds: 9000 }), 1)).toContain(
      'Fixed in 2 h 30 min',
    );
    expect(
      outcomeLine(outcome({ outcome: 'still_failing', failedAgain: ['unit tests'] }), 1, {
        kind: 'asked',
      }),
    ).toBe('❌ Still failing: unit tests. A follow-up agent run was asked for.');
    expect(outcomeLine(outcome({ outcome: 'still_failing', followUpCount: 1 }), 1)).toMatch(
      /Still failing: unit tests\. The agent could not fix it .*needs a human\.$/,
    );
    expect(outcomeLine(outcome({ outcome: 'no_change' }), 1)).toMatch(/^➖ No change/);
    expect(outcomeLine(outcome({ outcome: 'superseded' }), 1)).toMatch(/^⏭️ Superseded/);
    expect(outcomeLine(outcome({ outcome: 'run_failed' }), 1)).toMatch(/^⚠️ Run failed/);
  });

  it('a refused follow-up asks for a human with the reason, whose hostile text renders as plain text', () => {
    const line = outcomeLine(
      outcome({ outcome: 'still_failing', failedAgain: ['unit tests'], judgedSha: 'c'.repeat(40) }),
      1,
      {
        kind: 'refused',
        reason:
          'label "@octo/admins ![i](https://evil.example/p.png) [go](https://evil.example) <img src=x>\nx" turns agent runs off',
      },
    ) as string;
    expect(line).toMatch(
      /^❌ Still failing: unit tests on `cccccccccccc`\. The agent could not fix it and no follow-up run started \(label .* turns agent runs off\): needs a human\.$/,
    );
    expect(line).not.toMatch(/@[A-Za-z]/);
    expect(line).not.toContain('<img');
    expect(line).not.toMatch(/(^|[^\\])\[go\]/);
    expect(line).not.toMatch(/(^|[^\\])!\[/);
    expect(line).not.toContain('\n');
    expect(line).not.toContain('asked for');
  });

  it('a hostile check name renders as plain text: no mention, link, image, HTML or code span', () => {
    const line = outcomeLine(
      outcome({
        outcome: 'still_failing',
        failedAgain: [
          '@octo/admins `x` ![i](https://evil.example/p.png) <img src=x> [go](https://evil.example)\nline2',
        ],
      }),
      1,
      { kind: 'asked' },
    ) as string;
    expect(line).not.toMatch(/@[A-Za-z]/);
    expect(line).not.toContain('<img');
    expect(line).not.toMatch(/(^|[^\\])\[go\]/);
    expect(line).not.toMatch(/(^|[^\\])!\[/);
    expect(line).not.toContain('`x`');
    expect(line).not.toContain('\n');
  });
});
