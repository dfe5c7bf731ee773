/**
 * `it` for a check that needs a tool on the machine. With the tool it runs. Without it, a
 * developer machine skips the check and says why; under CI (`CI` set) the check fails instead,
 * so a run that checked nothing never passes green. scripts/prerequisites.sh installs the tools.
 */
export function itWithTool(
  available: boolean,
  tool: string,
): (name: string, fn: jest.ProvidesCallback, timeoutMs?: number) => void {
  if (available) return it;
  if (process.env.CI) {
    return (name) =>
      it(name, () => {
        throw new Error(
          `${tool} is not installed; CI has to run this check (scripts/prerequisites.sh)`,
        );
      });
  }
  process.stderr.write(`deploy check skipped without ${tool}\n`);
  return it.skip;
}
