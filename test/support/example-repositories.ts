import { createRequire } from 'node:module';

const requireJson = createRequire(__filename);

/**
 * The repositories of the GitHub example payloads the suites deliver: give them to the Codegen
 * fake, which otherwise knows no repository (and the worker cancels agent runs for those).
 */
export function exampleRepositories(): string[] {
  const all = requireJson('@octokit/webhooks-examples/api.github.com/index.json') as Array<{
    name: string;
    examples: Array<{ repository?: { full_name?: unknown } }>;
  }>;
  const names = new Set<string>();
  for (const event of all) {
    for (const payload of event.examples) {
      const name = payload.repository?.full_name;
      if (typeof name === 'string') names.add(name);
    }
  }
  return [...names];
}
