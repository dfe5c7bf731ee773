import examples from '@octokit/webhooks-examples';
import { routeEvent } from './route-event';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are mutated freely to build variants
type Payload = Record<string, any>;

function labeled(name: string): Payload {
  const all = examples as unknown as Array<{ name: string; examples: Payload[] }>;
  const found = all
    .find((d) => d.name === 'pull_request')
    ?.examples.find((p) => p.action === 'labeled');
  if (!found) throw new Error('no labeled example');
  const payload = structuredClone(found);
  payload.label = { ...payload.label, name };
  return payload;
}

describe('routing the agent opt-in label', () => {
  const rules = { includeCancelledChecks: false, trustLabel: 'agent:allow' };

  it('routes the trust label being added to an analysis that carries the label', () => {
    const outcome = routeEvent('pull_request', labeled('Agent:Allow'), rules);
    expect(outcome).toMatchObject({ kind: 'tasks', action: 'labeled' });
    if (outcome.kind !== 'tasks') return;
    expect(outcome.tasks[0]).toMatchObject({
      taskType: 'pull_request_analysis',
      inputData: { action: 'labeled', label: 'Agent:Allow' },
    });
  });

  it('ignores other labels, and every label when no trust label is set', () => {
    expect(routeEvent('pull_request', labeled('bug'), rules)).toMatchObject({
      kind: 'ignored',
      reason: 'action_not_handled:labeled',
    });
    expect(
      routeEvent('pull_request', labeled('agent:allow'), { includeCancelledChecks: false }),
    ).toMatchObject({ kind: 'ignored' });
    const noLabel = labeled('agent:allow');
    delete noLabel.label;
    expect(routeEvent('pull_request', noLabel, rules)).toMatchObject({ kind: 'ignored' });
  });
});
