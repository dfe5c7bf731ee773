import { agentBudgetRefusal, budgetDay } from './agent-budget';

const LIMITS = { perRepository: 50, perAuthor: 10 };
const NAMES = { repository: 'octo/app', author: 'alice' };

describe('agentBudgetRefusal', () => {
  it('allows a run while both budgets have room', () => {
    expect(agentBudgetRefusal({ repository: 49, author: 9 }, LIMITS, NAMES)).toBeNull();
  });

  it('names the repository budget first when it is spent', () => {
    expect(agentBudgetRefusal({ repository: 50, author: 10 }, LIMITS, NAMES)).toEqual({
      kind: 'repository',
      reason:
        'budget: repository (50 of 50 agent runs today for octo/app, AGENT_MAX_RUNS_PER_REPO_PER_DAY)',
    });
  });

  it('names the author budget when only it is spent; an unknown author has none', () => {
    expect(agentBudgetRefusal({ repository: 3, author: 10 }, LIMITS, NAMES)?.reason).toBe(
      'budget: author (10 of 10 agent runs today for pull requests by alice, AGENT_MAX_RUNS_PER_AUTHOR_PER_DAY)',
    );
    expect(agentBudgetRefusal({ repository: 3, author: null }, LIMITS, NAMES)).toBeNull();
  });

  it('a budget of 0 stops every run', () => {
    expect(
      agentBudgetRefusal({ repository: 0, author: 0 }, { perRepository: 0, perAuthor: 5 }, NAMES)
        ?.kind,
    ).toBe('repository');
  });

  it('days are UTC calendar days', () => {
    expect(budgetDay(new Date('2026-12-01T23:59:59.999Z'))).toBe('2026-12-01');
    expect(budgetDay(new Date('2026-12-02T00:00:00.000Z'))).toBe('2026-12-02');
  });
});
