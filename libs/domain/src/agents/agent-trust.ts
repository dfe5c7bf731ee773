/** `author_association` values of people GitHub has granted access to the repository. */
export const TRUSTED_ASSOCIATIONS: readonly string[] = ['OWNER', 'MEMBER', 'COLLABORATOR'];

/** What the trust gate looks at, from the pull request as GitHub reports it. */
export interface TrustFacts {
  /** `pull_request.author_association`; missing or odd values count as untrusted. */
  authorAssociation: string | null | undefined;
  /** `head.repo.full_name`; null when the fork was deleted. */
  headRepository: string | null | undefined;
  /** `base.repo.full_name` (the repository the task belongs to). */
  baseRepository: string | null | undefined;
  /** Label names on the pull request. */
  labels: readonly string[];
}

/** The gate's settings for one repository (from the effective rules). */
export interface TrustSettings {
  /** Off: every pull request passes (a deliberate server choice, e.g. a private monorepo). */
  gate: boolean;
  /** Lower-case opt-in label, or null when opting in by label is off. */
  trustLabel: string | null;
}

export interface TrustDecision {
  /** May an agent run start for this pull request? */
  trusted: boolean;
  /** The PR's head is in another repository (or a deleted one): never push to it. */
  fork: boolean;
  /** A maintainer's label let the pull request past the gate. */
  optedIn: boolean;
  /** `untrusted: …` for a refusal (the trigger's cancel reason), `trusted: …` otherwise. */
  reason: string;
}

/**
 * The trust gate: an agent run starts only for a pull request from the base repository opened
 * by an OWNER, MEMBER or COLLABORATOR, unless it carries the opt-in label (only people with
 * triage or write access can add labels). Missing facts count against trust.
 */
export function decideAgentTrust(facts: TrustFacts, settings: TrustSettings): TrustDecision {
  const head = typeof facts.headRepository === 'string' ? facts.headRepository : null;
  const base = typeof facts.baseRepository === 'string' ? facts.baseRepository : null;
  const fork = head === null || base === null || head.toLowerCase() !== base.toLowerCase();
  const association = associationOf(facts.authorAssociation);
  const label =
    settings.trustLabel === null
      ? null
      : (facts.labels.find((l) => l.toLowerCase() === settings.trustLabel) ?? null);

  const refusal = fork
    ? head === null
      ? 'untrusted: fork pull request (its repository was deleted)'
      : 'untrusted: fork pull request'
    : association === null
      ? 'untrusted: author association missing'
      : TRUSTED_ASSOCIATIONS.includes(association)
        ? null
        : `untrusted: author association ${association}`;

  if (refusal === null)
    return {
      trusted: true,
      fork,
      optedIn: false,
      reason: `trusted: author association ${association ?? 'unknown'}`,
    };
  if (label !== null)
    return {
      trusted: true,
      fork,
      optedIn: true,
      reason: `trusted: opted in by label "${settings.trustLabel ?? ''}" (${refusal})`,
    };
  if (!settings.gate)
    return { trusted: true, fork, optedIn: false, reason: `trusted: trust gate off (${refusal})` };
  return { trusted: false, fork, optedIn: false, reason: refusal };
}

/** Upper-case association, or null when missing or not a plausible value. */
function associationOf(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const upper = value.trim().toUpperCase();
  return /^[A-Z_]{1,40}$/.test(upper) ? upper : null;
}

/** How Codegen's own pull requests are recognised (settings). */
export interface CodegenPullRequestSettings {
  /** Lower-case logins of Codegen's GitHub App/bot. */
  authorLogins: readonly string[];
  /** Head branches Codegen's agent creates start with this; empty = not used. */
  branchPrefix: string;
}

/**
 * Is this pull request one Codegen's agent opened? Codegen's own checks auto-fixer reacts to
 * their failures, so the service stands down for them. Returns the reason, or null.
 */
export function codegenPullRequestReason(
  pr: {
    authorLogin: string | null | undefined;
    headRef: string | null | undefined;
    fork: boolean;
  },
  settings: CodegenPullRequestSettings,
): string | null {
  const login = typeof pr.authorLogin === 'string' ? pr.authorLogin.toLowerCase() : null;
  if (login !== null && settings.authorLogins.includes(login))
    return `opened by Codegen (${login}): Codegen's checks auto-fixer handles its failures`;
  // A fork may name its branches as it likes; only the base repository's branches count.
  if (
    !pr.fork &&
    settings.branchPrefix !== '' &&
    typeof pr.headRef === 'string' &&
    pr.headRef.startsWith(settings.branchPrefix)
  )
    return `Codegen's branch (${settings.branchPrefix}…): Codegen's checks auto-fixer handles its failures`;
  return null;
}
