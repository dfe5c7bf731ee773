#!/usr/bin/env bash
# Checks everything monitoring depends on, and fails on the first problem:
#   1. Prometheus config and alert rules (promtool check config / check rules)
#   2. the alert rules' unit tests (promtool test rules)
#   3. Grafana provisioning files and dashboards parse; every dashboard query is valid PromQL
#   4. both apps, booted for real against PostgreSQL and Redis (the observability e2e suite),
#      export every metric a dashboard or rule names, and their /metrics pass `promtool check
#      metrics` (apart from prom-client's three nodejs_active_*_total gauges, a known false alarm)
#   5. a real Prometheus scrapes both apps from their start (test/metrics-from-start.e2e-spec.ts):
#      every counter has its series at 0 before the first event, every dashboard query returns a
#      number for the idle system, and the webhook error ratio after a restart is the real one
# Needs promtool and the prometheus server (Debian/Ubuntu package `prometheus`) and the e2e
# prerequisites (PostgreSQL and Redis, see README). Writes nothing outside a temporary directory,
# so it can run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in promtool prometheus; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool not found: install the 'prometheus' package (apt-get install -y prometheus)" >&2
    exit 1
  fi
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
queries() { node -r ts-node/register/transpile-only scripts/observability/queries.ts "$@"; }
# The e2e run leaves these two suites to this check (jest.e2e.config.js): run them past that (the
# option after the path, or it would take the path as one more pattern).
e2e() { npx jest -c jest.e2e.config.js "$1" --testPathIgnorePatterns=/node_modules/; }
step() { printf '\n== %s\n' "$1"; }

step "Prometheus configuration"
promtool check config docker/prometheus/prometheus.yml

step "alert rules"
promtool check rules docker/prometheus/alerts.yml
promtool test rules docker/prometheus/alerts.test.yml

step "Grafana provisioning and dashboards"
node -e '
  const fs = require("fs");
  const yaml = require("yaml");
  for (const file of process.argv.slice(1)) {
    const text = fs.readFileSync(file, "utf8");
    if (file.endsWith(".json")) {
      const board = JSON.parse(text);
      if (!board.uid || !board.title || !Array.isArray(board.panels)) throw new Error(file + ": not a dashboard");
    } else {
      yaml.parse(text);
    }
    console.log("  parses: " + file);
  }
' docker/grafana/provisioning/datasources/*.yml docker/grafana/provisioning/dashboards/*.yml \
  docker/grafana/dashboards/*.json
queries dashboard-rules "$work/dashboard-queries.yml"
promtool check rules "$work/dashboard-queries.yml"

step "metrics exported by both apps (observability e2e suite, real PostgreSQL and Redis)"
OBSERVABILITY_SCRAPE_DIR="$work" e2e test/observability.e2e-spec.ts
for app in orchestrator worker; do
  scrape="$work/$app.prom"
  [ -s "$scrape" ] || { echo "no scrape of $app was written" >&2; exit 1; }
  # promtool exits non-zero on any lint finding; only the known false alarm may remain.
  promtool check metrics < "$scrape" > "$work/$app.lint" 2>&1 || true
  if grep -v -E '^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$' \
    "$work/$app.lint" | grep -q .; then
    echo "promtool check metrics found problems in the $app's /metrics:" >&2
    cat "$work/$app.lint" >&2
    exit 1
  fi
  echo "  promtool check metrics: $app ok ($(grep -c '^# TYPE' "$scrape") metric families)"
done
queries coverage "$work/orchestrator.prom" "$work/worker.prom"

step "a real Prometheus scraping both apps from their start: series at 0, every panel a number"
e2e test/metrics-from-start.e2e-spec.ts

printf '\nobservability checks passed\n'
