#!/usr/bin/env bash
# Brings the orchestrator and the worker up on this machine: dependencies, a local .env (created
# with random development secrets on first run), the database, migrations, then both apps.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then npm ci; fi

if [ ! -f .env ]; then
  rand() { node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("hex"))'; }
  cat > .env <<ENV
# Local development settings, created by scripts/up.sh. Not for production.
NODE_ENV=development
PORT=8000
DATABASE_URL=postgres://postgres@127.0.0.1:5432/orchestrator
REDIS_URL=redis://127.0.0.1:6379/0
GITHUB_WEBHOOK_SECRET=$(rand)
SECRET_KEY=$(rand)
LOG_LEVEL=info
# Without CODEGEN_TOKEN the worker runs in dry-run mode: it records prompts, starts no agent run.
# CODEGEN_TOKEN=
# CODEGEN_ORG_ID=
# GITHUB_TOKEN=
ENV
  echo "Created .env with random development secrets (GITHUB_WEBHOOK_SECRET, SECRET_KEY)."
  echo "Use the GITHUB_WEBHOOK_SECRET from .env as the secret of your GitHub webhook."
fi

set -a
# shellcheck disable=SC1091
. ./.env
set +a

node scripts/ensure-database.js
npm run -s build
npm run -s migration:run

pids=()
stop() {
  trap - INT TERM
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM

# The young-generation size is a measured intake setting (docs/performance.md).
node --max-semi-space-size=64 dist/apps/orchestrator/src/main.js &
pids+=($!)
node dist/apps/worker/src/main.js &
pids+=($!)
echo "orchestrator on http://127.0.0.1:${PORT:-8000} (webhook: POST /api/v1/webhooks/github); worker running. Ctrl-C stops both."

# If either app exits, stop the other and report its status.
set +e
wait -n "${pids[@]}"
status=$?
stop
exit "$status"
