#!/bin/sh
# The image's entry point (behind tini): the first argument picks what the container runs.
#   orchestrator     the HTTP app (PORT, default 8000)
#   worker           the queue worker (health and metrics on WORKER_HEALTH_PORT, default 9100)
#   migrate          applies pending migrations and exits (`npm run migration:run`)
#   wait-for-schema  exits 0 once every migration of this image is applied (Kubernetes init step)
# Anything else is run as given, e.g. `docker run --rm IMAGE node --version`.
set -eu
cd /app
command="${1:-orchestrator}"
[ "$#" -gt 0 ] && shift
case "$command" in
  # Young generation up to 32 MiB, no memory reducer, no allocation-site pretenuring: measured for the intake (docs/performance.md), same as start:orchestrator.
  orchestrator) exec node --enable-source-maps --max-semi-space-size=32 --no-memory-reducer --no-allocation-site-pretenuring dist/apps/orchestrator/src/main.js "$@" ;;
  worker) exec node --enable-source-maps dist/apps/worker/src/main.js "$@" ;;
  migrate) exec node --enable-source-maps dist/libs/persistence/src/database/migrate.js "$@" ;;
  wait-for-schema) exec node --enable-source-maps dist/libs/persistence/src/database/wait-for-schema.js "$@" ;;
  *) exec "$command" "$@" ;;
esac
