/**
 * Reads the PromQL of the Grafana dashboards and the alert rules, names the metrics they use, and
 * compares those names with what the apps export. Used by scripts/check-observability.sh and by
 * test/observability.e2e-spec.ts.
 *
 *   node -r ts-node/register/transpile-only scripts/observability/queries.ts dashboard-rules OUT
 *       writes every dashboard expression as a recording rule, for `promtool check rules`
 *   node -r ts-node/register/transpile-only scripts/observability/queries.ts coverage SCRAPE...
 *       fails when a dashboard or rule names a metric none of the scrapes exports
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const ROOT = join(__dirname, '..', '..');
export const DASHBOARD_DIR = join(ROOT, 'docker', 'grafana', 'dashboards');
export const ALERT_RULES = join(ROOT, 'docker', 'prometheus', 'alerts.yml');

/** One PromQL expression and where it comes from. */
export interface Query {
  source: string;
  expr: string;
  /**
   * What the panel shows instead of "No data" (Grafana's `noValue`), for a panel whose empty
   * result means something (no GitHub answer yet); unset for every other panel.
   */
  noValue?: string;
}

/** Series Prometheus makes itself: they are never in an app's scrape. */
const SYNTHETIC = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE']);

/** Grafana's built-in interval variables, replaced by a plain duration to parse the query. */
const GRAFANA_INTERVALS =
  /\$__rate_interval|\$__interval|\$__range|\$\{__rate_interval\}|\$\{__interval\}/g;

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
  'atan2',
]);

/** Every panel target of every dashboard; throws when a file is not valid JSON. */
export function dashboardQueries(dir = DASHBOARD_DIR): Query[] {
  const queries: Query[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    let board: unknown;
    try {
      board = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch (error) {
      throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
    }
    const panels = collectPanels((board as { panels?: unknown }).panels);
    for (const panel of panels) {
      const noValue = panel.fieldConfig?.defaults?.noValue;
      for (const target of panel.targets ?? []) {
        if (typeof target.expr === 'string' && target.expr.trim() !== '') {
          queries.push({
            source: `${file}: ${panel.title ?? '(untitled)'}`,
            expr: target.expr,
            ...(typeof noValue === 'string' && noValue !== '' ? { noValue } : {}),
          });
        }
      }
    }
  }
  return queries;
}

/** Every `expr` of the alerting and recording rules. */
export function ruleQueries(file = ALERT_RULES): Query[] {
  const doc = parse(readFileSync(file, 'utf8')) as {
    groups?: Array<{ rules?: Array<{ alert?: string; record?: string; expr?: string }> }>;
  };
  return (doc.groups ?? []).flatMap((group) =>
    (group.rules ?? []).map((rule) => ({
      source: `alerts.yml: ${rule.alert ?? rule.record ?? '(unnamed)'}`,
      expr: String(rule.expr ?? ''),
    })),
  );
}

/**
 * The expression with Grafana's interval variables replaced by `interval`, as Prometheus would
 * receive it.
 */
export function asPromql(expr: string, interval = '5m'): string {
  return expr.replace(GRAFANA_INTERVALS, interval);
}

/** Metric names an expression selects (not functions, keywords, labels or durations). */
export function metricNamesIn(expr: string): Set<string> {
  let text = asPromql(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/#[^\n]*/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?[0-9a-zA-Z]+/g, ' ');
  text = text.replace(/\b(group_left|group_right)\b/g, ' ');
  const names = new Set<string>();
  for (const match of text.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const index = match.index ?? 0;
    if (index > 0 && /[0-9.]/.test(text[index - 1])) continue; // the exponent of 1e3
    if (
      text
        .slice(index + word.length)
        .trimStart()
        .startsWith('(')
    )
      continue; // a function
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return names;
}

/**
 * Names a Prometheus text exposition declares (`# TYPE`), with a histogram's and summary's
 * `_bucket`, `_sum` and `_count` series, plus every sample name.
 */
export function exportedNames(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const line of scrape.split('\n')) {
    const type = /^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (\w+)/.exec(line);
    if (type) {
      names.add(type[1]);
      if (type[2] === 'histogram' || type[2] === 'summary') {
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(type[1] + suffix);
      }
      continue;
    }
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]);
  }
  return names;
}

/** Metric names used by the dashboards and rules that no scrape exports, with where they are used. */
export function missingMetrics(queries: Query[], scrapes: string[]): Map<string, string[]> {
  const exported = new Set(scrapes.flatMap((s) => [...exportedNames(s)]));
  const missing = new Map<string, string[]>();
  for (const query of queries) {
    for (const name of metricNamesIn(query.expr)) {
      if (exported.has(name) || SYNTHETIC.has(name)) continue;
      missing.set(name, [...(missing.get(name) ?? []), query.source]);
    }
  }
  return missing;
}

/** A rule file with each dashboard query as a recording rule, so promtool parses every one. */
export function dashboardRulesYaml(queries: Query[]): string {
  const rules = queries.map((query, i) =>
    [
      `      # ${query.source.replace(/\n/g, ' ')}`,
      `      - record: dashboard_query_${i}`,
      `        expr: ${JSON.stringify(asPromql(query.expr))}`,
    ].join('\n'),
  );
  return ['groups:', '  - name: dashboard-queries', '    rules:', ...rules, ''].join('\n');
}

interface Panel {
  title?: string;
  targets?: Array<{ expr?: unknown }>;
  fieldConfig?: { defaults?: { noValue?: unknown } };
  panels?: unknown;
}

function collectPanels(value: unknown): Panel[] {
  if (!Array.isArray(value)) return [];
  return (value as Panel[]).flatMap((panel) => [panel, ...collectPanels(panel.panels)]);
}

function main(argv: string[]): number {
  const [command, ...args] = argv;
  if (command === 'dashboard-rules' && args.length === 1) {
    const queries = dashboardQueries();
    writeFileSync(args[0], dashboardRulesYaml(queries));
    process.stdout.write(`${queries.length} dashboard queries written to ${args[0]}\n`);
    return 0;
  }
  if (command === 'coverage' && args.length > 0) {
    const queries = [...dashboardQueries(), ...ruleQueries()];
    const missing = missingMetrics(
      queries,
      args.map((file) => readFileSync(file, 'utf8')),
    );
    const used = new Set(queries.flatMap((q) => [...metricNamesIn(q.expr)]));
    if (missing.size === 0) {
      process.stdout.write(
        `all ${used.size} metrics named by ${queries.length} dashboard and rule queries are exported\n`,
      );
      return 0;
    }
    for (const [name, sources] of missing) {
      process.stderr.write(`not exported by the apps: ${name} (used by ${sources.join('; ')})\n`);
    }
    return 1;
  }
  process.stderr.write('usage: queries.ts dashboard-rules OUT | coverage SCRAPE...\n');
  return 2;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
