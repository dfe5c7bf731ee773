import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function readVersion(): string {
  // package.json sits at the repository root both in source and under dist/.
  for (const up of ['../../../..', '../../../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'webhook-orchestrator' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return process.env.npm_package_version ?? 'unknown';
}

export const SERVICE_NAME = 'webhook-orchestrator';
export const SERVICE_VERSION = readVersion();
