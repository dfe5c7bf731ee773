#!/usr/bin/env bash
# The system tools the tests need besides Node, PostgreSQL and Redis, in one list. `npm test`
# runs this first and `.ci/run` runs it too, so there is one installer:
#   - every tool present: exits 0 at once;
#   - some missing, running as root with apt-get: installs the missing Debian packages, checks
#     again, exits 0 (or 1 when the install did not bring the tool);
#   - some missing otherwise: prints the exact command to run and exits 2, before any test ran.
# --check only reports (exit 2 when something is missing), it never installs.
#
# Then it checks that the PostgreSQL and Redis the tests use answer (TEST_DATABASE_ADMIN_URL,
# TEST_REDIS_URL), so a stopped server is named in seconds rather than after the build.
# --tools-only skips that (.ci/run starts the servers itself after installing).
set -euo pipefail
cd "$(dirname "$0")/.."

# One line per tool: "<command> <Debian package>". Add a line for a new tool; nothing else changes.
REQUIRED=(
  "promtool prometheus"             # check:observability: Prometheus config, alert rules and their tests
  "docker-compose docker-compose"   # check:deploy: compose config without a Docker daemon
  "yamllint yamllint"               # check:deploy: YAML style of docker/ and k8s/
  "openssl openssl"                 # end-to-end TLS tests make a throw-away CA
  "redis-server redis-server"       # end-to-end tests start scratch Redis servers to kill
  "chromium chromium"               # the operator console's browser tests (test/console.e2e-spec.ts)
)

mode=install
services=yes
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --tools-only) services=no ;;
    *) echo "prerequisites: unknown option $arg (use --check, --tools-only)" >&2; exit 64 ;;
  esac
done

missing_packages() {
  local line tool package
  for line in "${REQUIRED[@]}"; do
    read -r tool package <<<"$line"
    command -v "$tool" >/dev/null 2>&1 || printf '%s\n' "$package"
  done | sort -u
}

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
  install_command="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "$mode" = install ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "prerequisites: installing the Debian packages ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    apt-get install -y -qq --no-install-recommends ${missing[*]} >/dev/null
    mapfile -t still < <(missing_packages)
    if [ "${#still[@]}" -gt 0 ]; then
      echo "prerequisites: still missing after the install: ${still[*]}" >&2
      exit 1
    fi
  else
    sudo_prefix=""
    [ "$(id -u)" -eq 0 ] || sudo_prefix="sudo "
    {
      echo "prerequisites: missing Debian packages: ${missing[*]}"
      echo "install them, then run the tests again:"
      echo "  ${sudo_prefix}apt-get update && ${sudo_prefix}${install_command}"
    } >&2
    exit 2
  fi
fi

[ "$services" = yes ] || exit 0

if [ ! -d node_modules/pg ] || [ ! -d node_modules/ioredis ]; then
  echo "prerequisites: node_modules is missing: run npm ci" >&2
  exit 2
fi
# Both servers are asked at once, each within 3 s.
node -e '
  const { Client } = require("pg");
  const Redis = require("ioredis");
  const pgUrl = process.env.TEST_DATABASE_ADMIN_URL || "postgres://postgres@127.0.0.1:5432/postgres";
  const redisUrl = process.env.TEST_REDIS_URL || "redis://127.0.0.1:6379/0";
  const safe = (url) => { const u = new URL(url); u.password = ""; return u.toString(); };
  const pg = async () => {
    const client = new Client({ connectionString: pgUrl, connectionTimeoutMillis: 3000 });
    try { await client.connect(); await client.query("SELECT 1"); return null; }
    catch (e) { return `PostgreSQL at ${safe(pgUrl)} does not answer (${e.code || e.message}); set TEST_DATABASE_ADMIN_URL or start it`; }
    finally { await client.end().catch(() => {}); }
  };
  const redis = async () => {
    const client = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    let cause = null;
    client.on("error", (e) => { cause ??= e; });
    try { await client.connect(); await client.ping(); return null; }
    catch (e) { const c = cause || e; return `Redis at ${safe(redisUrl)} does not answer (${c.code || c.message}); set TEST_REDIS_URL or start it`; }
    finally { client.disconnect(); }
  };
  Promise.all([pg(), redis()]).then((problems) => {
    const found = problems.filter(Boolean);
    for (const p of found) console.error("prerequisites: " + p);
    process.exit(found.length > 0 ? 2 : 0);
  });
'
