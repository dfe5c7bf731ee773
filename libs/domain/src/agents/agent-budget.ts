/** The daily budgets an agent run counts against, besides the per-PR runaway guard. */
export type AgentBudgetKind = 'repository' | 'author';

export interface AgentBudgetLimits {
  perRepository: number;
  perAuthor: number;
}

/** Runs already counted today (UTC) for the trigger's repository and PR author. */
export interface AgentBudgetSpend {
  repository: number;
  /** Null when the PR author is unknown: the author budget is then not applied. */
  author: number | null;
}

export interface AgentBudgetRefusal {
  kind: AgentBudgetKind;
  /** The trigger's cancel reason, `budget: <which> …`. */
  reason: string;
}

/** Would one more run go over a budget? The repository budget is checked first. */
export function agentBudgetRefusal(
  spend: AgentBudgetSpend,
  limits: AgentBudgetLimits,
  names: { repository: string; author: string | null },
): AgentBudgetRefusal | null {
  if (spend.repository >= limits.perRepository)
    return {
      kind: 'repository',
      reason: `budget: repository (${spend.repository} of ${limits.perRepository} agent runs today for ${names.repository}, AGENT_MAX_RUNS_PER_REPO_PER_DAY)`,
    };
  if (spend.author !== null && spend.author >= limits.perAuthor)
    return {
      kind: 'author',
      reason: `budget: author (${spend.author} of ${limits.perAuthor} agent runs today for pull requests by ${names.author ?? 'unknown'}, AGENT_MAX_RUNS_PER_AUTHOR_PER_DAY)`,
    };
  return null;
}

/** The UTC calendar day an instant falls on, `YYYY-MM-DD` (budgets reset at 00:00 UTC). */
export function budgetDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}
