import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleAssets } from './console-assets';

describe('ConsoleAssets', () => {
  let dir: string;
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'console-assets-'));
    mkdirSync(join(dir, 'pages'));
    write('index.html', '<script type="module" src="{{ASSETS}}/main.js"></script>');
    write('main.js', 'import "./pages/a.js";');
    write('pages/a.js', 'export {};');
    write('notes.txt', 'not served');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names the versioned files in the shell and serves only known file types', () => {
    const assets = new ConsoleAssets(dir);
    expect(assets.version).toMatch(/^[0-9a-f]{16}$/);
    expect(assets.shell.toString()).toBe(
      `<script type="module" src="/console/assets/${assets.version}/main.js"></script>`,
    );
    expect(assets.file('main.js')?.contentType).toBe('text/javascript; charset=utf-8');
    expect(assets.file('pages/a.js')?.body.toString()).toBe('export {};');
    for (const refused of ['notes.txt', 'index.html', '../main.js', 'pages/../main.js', '']) {
      expect(assets.file(refused)).toBeUndefined();
    }
  });

  it('changes its version when any file changes, so cached copies are never stale', () => {
    const before = new ConsoleAssets(dir).version;
    expect(new ConsoleAssets(dir).version).toBe(before);
    write('pages/a.js', 'export const changed = 1;');
    expect(new ConsoleAssets(dir).version).not.toBe(before);
  });
});
