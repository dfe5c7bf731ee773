#!/usr/bin/env bash
# npm run up: installs the dependencies when node_modules is missing, then hands over to the
# supervisor (scripts/up/up.ts): .env, database, build, migrations, both apps, the ready block.
# Ctrl-C stops both apps once, cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then npm ci --no-audit --no-fund; fi

exec node -r ts-node/register/transpile-only -r tsconfig-paths/register scripts/up/up.ts "$@"
