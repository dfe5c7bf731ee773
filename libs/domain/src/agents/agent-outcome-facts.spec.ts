import {
  agentOutcomeFacts,
  outcomeFactsFromInput,
  outcomeFactsToInput,
} from './agent-outcome-facts';

const repository = { id: 1, full_name: 'octo/app' };

describe('agentOutcomeFacts', () => {
  it('reads a completed check run of any conclusion, with its pull requests of this repository', () => {
    const facts = agentOutcomeFacts('check_run', {
      action: 'completed',
      repository,
      sender: { login: 'github-actions[bot]' },
      check_run: {
        id: 55,
        name: 'ci / test',
        conclusion: 'success',
        head_sha: 'b'.repeat(40),
        completed_at: '2026-12-01T10:14:00Z',
        pull_requests: [
          { number: 7, base: { repo: { id: 1 } } },
          { number: 99, base: { repo: { id: 2 } } },
        ],
      },
    });
    expect(facts).toEqual({
      repository: 'octo/app',
      sha: 'b'.repeat(40),
      prNumbers: [7],
      event: {
        kind: 'check_completed',
        scope: 'check_run',
        name: 'ci / test',
        conclusion: 'success',
        headSha: 'b'.repeat(40),
        prNumbers: [7],
        completedAt: new Date('2026-12-01T10:14:00Z'),
        checkId: 55,
      },
    });
    expect(outcomeFactsFromInput(outcomeFactsToInput(facts!))).toEqual(facts);
  });

  it('names a suite by its app', () => {
    const facts = agentOutcomeFacts('check_suite', {
      action: 'completed',
      repository,
      check_suite: {
        id: 9,
        conclusion: 'failure',
        head_sha: 'c'.repeat(40),
        updated_at: '2026-12-01T10:00:00Z',
        app: { slug: 'github-actions' },
        pull_requests: [{ number: 3 }],
      },
    });
    expect(facts?.event).toMatchObject({ scope: 'check_suite', name: 'github-actions' });
  });

  it('reads a synchronize with its pusher', () => {
    const facts = agentOutcomeFacts('pull_request', {
      action: 'synchronize',
      number: 7,
      after: 'd'.repeat(40),
      repository,
      pull_request: { number: 7 },
      sender: { login: 'codegen-sh[bot]' },
    });
    expect(facts).toEqual({
      repository: 'octo/app',
      sha: 'd'.repeat(40),
      prNumbers: [7],
      event: { kind: 'head_pushed', prNumber: 7, after: 'd'.repeat(40), pusher: 'codegen-sh[bot]' },
    });
    expect(outcomeFactsFromInput(outcomeFactsToInput(facts!))).toEqual(facts);
  });

  it('nothing for other events, actions and payloads missing what judging needs', () => {
    expect(agentOutcomeFacts('push', { repository })).toBeNull();
    expect(
      agentOutcomeFacts('pull_request', { action: 'opened', repository, number: 1 }),
    ).toBeNull();
    expect(
      agentOutcomeFacts('check_run', { action: 'created', repository, check_run: {} }),
    ).toBeNull();
    expect(
      agentOutcomeFacts('check_run', { action: 'completed', repository, check_run: { name: 'x' } }),
    ).toBeNull();
    expect(
      agentOutcomeFacts('check_run', {
        action: 'completed',
        repository,
        check_run: { name: 'x', head_sha: 'a'.repeat(40), conclusion: { evil: true } },
      }),
    ).toBeNull();
    expect(agentOutcomeFacts('check_run', null)).toBeNull();
    expect(
      agentOutcomeFacts('pull_request', { action: 'synchronize', repository, number: 1 }),
    ).toBeNull();
    expect(
      outcomeFactsFromInput({ repository: 'octo/app', event: { kind: 'window_elapsed' } }),
    ).toBeNull();
    expect(outcomeFactsFromInput({})).toBeNull();
  });
});
