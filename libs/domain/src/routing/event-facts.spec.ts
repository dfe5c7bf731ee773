import examples from '@octokit/webhooks-examples';
import { extractEventFacts } from './event-facts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are mutated freely to build variants
type Payload = Record<string, any>;

const definitions = examples as unknown as Array<{ name: string; examples: Payload[] }>;

function exampleOf(event: string, filter: (p: Payload) => boolean = () => true): Payload {
  const found = definitions.find((d) => d.name === event)?.examples.find(filter);
  if (!found) throw new Error(`no matching example for ${event}`);
  return structuredClone(found);
}

const EMPTY = {
  action: null,
  repository: null,
  installationId: null,
  senderLogin: null,
  senderType: null,
};

describe('extractEventFacts', () => {
  it('reads the filter columns of a real pull_request delivery', () => {
    const payload = exampleOf('pull_request', (p) => p.action === 'synchronize');
    expect(extractEventFacts(payload)).toEqual({
      action: 'synchronize',
      repository: 'Codertocat/Hello-World',
      installationId: 1,
      senderLogin: 'Codertocat',
      senderType: 'User',
    });
  });

  it('reads a real push, which has no action', () => {
    const payload = exampleOf('push', (p) => p.ref === 'refs/heads/master');
    expect(extractEventFacts(payload)).toMatchObject({
      action: null,
      repository: 'Codertocat/Hello-World',
      installationId: 1,
    });
  });

  it('reads a real installation event, which has no repository', () => {
    const payload = exampleOf('installation', (p) => p.action === 'created');
    expect(extractEventFacts(payload)).toMatchObject({
      action: 'created',
      repository: null,
      installationId: 957387,
      senderLogin: 'Codertocat',
    });
  });

  it('gives the facts of every real example without throwing', () => {
    let withRepository = 0;
    for (const definition of definitions) {
      for (const payload of definition.examples) {
        const facts = extractEventFacts(payload);
        if (facts.repository !== null) withRepository += 1;
      }
    }
    expect(withRepository).toBeGreaterThan(100);
  });

  it.each([null, undefined, [], [1, 2], 'x', '', 0, 3.14, true, {}])(
    'reads %p as no facts',
    (payload) => {
      expect(extractEventFacts(payload)).toEqual(EMPTY);
    },
  );

  it('reads wrong-typed fields as null', () => {
    expect(
      extractEventFacts({
        action: ['opened'],
        repository: 'o/r',
        installation: { id: '5' },
        sender: { login: 7, type: null },
      }),
    ).toEqual(EMPTY);
  });

  it('caps long strings and ignores inherited keys', () => {
    const facts = extractEventFacts({
      action: 'a'.repeat(1000),
      repository: { full_name: 'r'.repeat(1000) },
      sender: Object.create({ login: 'inherited' }) as unknown,
    });
    expect(facts.action).toHaveLength(64);
    expect(facts.repository).toHaveLength(255);
    expect(facts.senderLogin).toBeNull();
  });

  it('deeply nested odd objects do not throw', () => {
    let deep: unknown = { id: 1 };
    for (let i = 0; i < 10_000; i += 1) deep = { installation: deep };
    expect(extractEventFacts(deep)).toEqual(EMPTY);
  });

  it('a payload whose reads throw yields no facts instead of an error', () => {
    const trap = {
      get action(): string {
        throw new Error('boom');
      },
    };
    expect(extractEventFacts(trap)).toEqual(EMPTY);
  });
});
