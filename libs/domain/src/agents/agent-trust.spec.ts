import { codegenPullRequestReason, decideAgentTrust, TrustFacts } from './agent-trust';

const SETTINGS = { gate: true, trustLabel: 'agent:allow' };
const member = (over: Partial<TrustFacts> = {}): TrustFacts => ({
  authorAssociation: 'MEMBER',
  headRepository: 'octo/app',
  baseRepository: 'octo/app',
  labels: [],
  ...over,
});

describe('decideAgentTrust', () => {
  it.each(['OWNER', 'MEMBER', 'COLLABORATOR', 'member'])(
    'trusts %s on a pull request from the base repository',
    (association) => {
      expect(decideAgentTrust(member({ authorAssociation: association }), SETTINGS)).toMatchObject({
        trusted: true,
        fork: false,
        optedIn: false,
      });
    },
  );

  it.each(['CONTRIBUTOR', 'FIRST_TIME_CONTRIBUTOR', 'FIRST_TIMER', 'MANNEQUIN', 'NONE'])(
    'stops %s, naming the association',
    (association) => {
      expect(decideAgentTrust(member({ authorAssociation: association }), SETTINGS)).toEqual({
        trusted: false,
        fork: false,
        optedIn: false,
        reason: `untrusted: author association ${association}`,
      });
    },
  );

  it('stops a fork pull request even from a member', () => {
    expect(decideAgentTrust(member({ headRepository: 'stranger/app' }), SETTINGS)).toMatchObject({
      trusted: false,
      fork: true,
      reason: 'untrusted: fork pull request',
    });
  });

  it('treats a missing association, a deleted fork and odd values as untrusted', () => {
    expect(decideAgentTrust(member({ authorAssociation: undefined }), SETTINGS).reason).toBe(
      'untrusted: author association missing',
    );
    expect(decideAgentTrust(member({ authorAssociation: 'OWNER; rm -rf' }), SETTINGS).reason).toBe(
      'untrusted: author association missing',
    );
    expect(decideAgentTrust(member({ headRepository: null }), SETTINGS)).toMatchObject({
      trusted: false,
      fork: true,
      reason: 'untrusted: fork pull request (its repository was deleted)',
    });
    expect(decideAgentTrust(member({ baseRepository: null }), SETTINGS).trusted).toBe(false);
  });

  it('lets a maintainer opt a pull request in with the label (any case), still marked as a fork', () => {
    const decision = decideAgentTrust(
      member({
        headRepository: 'stranger/app',
        authorAssociation: 'NONE',
        labels: ['Agent:Allow'],
      }),
      SETTINGS,
    );
    expect(decision).toMatchObject({ trusted: true, fork: true, optedIn: true });
    expect(decision.reason).toBe(
      'trusted: opted in by label "agent:allow" (untrusted: fork pull request)',
    );
  });

  it('ignores the label when opting in is off, and lets everything through with the gate off', () => {
    const fork = member({ headRepository: 'stranger/app', labels: ['agent:allow'] });
    expect(decideAgentTrust(fork, { gate: true, trustLabel: null }).trusted).toBe(false);
    expect(decideAgentTrust(fork, { gate: false, trustLabel: null })).toMatchObject({
      trusted: true,
      fork: true,
      reason: 'trusted: trust gate off (untrusted: fork pull request)',
    });
  });
});

describe('codegenPullRequestReason', () => {
  const settings = { authorLogins: ['codegen-sh[bot]'], branchPrefix: 'codegen-bot/' };

  it('recognises Codegen by author login and by head branch prefix', () => {
    expect(
      codegenPullRequestReason(
        { authorLogin: 'Codegen-sh[bot]', headRef: 'fix', fork: false },
        settings,
      ),
    ).toMatch(/^opened by Codegen/);
    expect(
      codegenPullRequestReason(
        { authorLogin: 'alice', headRef: 'codegen-bot/fix-tests-1a2b', fork: false },
        settings,
      ),
    ).toMatch(/^Codegen's branch/);
  });

  it('leaves other pull requests alone, and a fork cannot pose as Codegen by branch name', () => {
    expect(
      codegenPullRequestReason({ authorLogin: 'alice', headRef: 'feature', fork: false }, settings),
    ).toBeNull();
    expect(
      codegenPullRequestReason(
        { authorLogin: 'alice', headRef: 'codegen-bot/x', fork: true },
        settings,
      ),
    ).toBeNull();
    expect(
      codegenPullRequestReason(
        { authorLogin: null, headRef: 'codegen-bot/x', fork: false },
        { authorLogins: [], branchPrefix: '' },
      ),
    ).toBeNull();
  });
});
