/**
 * Jest reporter: at the end of a run, each test file's wall time, slowest first, with its share
 * of the total, so the run shows where its minutes go. Set TEST_DURATIONS_FILE to also write the
 * figures as JSON (file → seconds).
 */
const { writeFileSync } = require('node:fs');
const { relative } = require('node:path');

class DurationReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.files = [];
    this.started = Date.now();
  }

  onTestResult(_test, result) {
    const { start, end } = result.perfStats;
    this.files.push({
      file: relative(this.rootDir, result.testFilePath),
      seconds: (end - start) / 1000,
      tests: result.numPassingTests + result.numFailingTests + result.numPendingTests,
    });
  }

  onRunComplete() {
    if (this.files.length === 0) return;
    const wall = (Date.now() - this.started) / 1000;
    const sum = this.files.reduce((s, f) => s + f.seconds, 0);
    const sorted = [...this.files].sort((a, b) => b.seconds - a.seconds);
    const lines = sorted.map(
      (f) =>
        `${f.seconds.toFixed(1).padStart(7)} s ${((100 * f.seconds) / sum).toFixed(0).padStart(3)} %  ${String(f.tests).padStart(4)} tests  ${f.file}`,
    );
    process.stdout.write(
      `\ntime per test file (${this.files.length} files, ${sum.toFixed(1)} s in files, ${wall.toFixed(1)} s wall):\n${lines.join('\n')}\n`,
    );
    if (process.env.TEST_DURATIONS_FILE) {
      const json = Object.fromEntries(sorted.map((f) => [f.file, Number(f.seconds.toFixed(1))]));
      writeFileSync(process.env.TEST_DURATIONS_FILE, `${JSON.stringify(json, null, 2)}\n`);
    }
  }
}

module.exports = DurationReporter;
