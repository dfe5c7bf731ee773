#!/usr/bin/env bash
# Static checks of the deployment files (docker/, k8s/, .dockerignore): no Docker engine, no
# cluster, no network. Runs every check, prints each result, exits non-zero if any failed.
# Writes nothing outside a temporary directory (it builds dist/ only when missing or stale).
#
# Needs the Debian packages docker-compose (v1, works without a daemon) and yamllint, and the
# npm dev dependencies. kubectl is optional: without it the tests render k8s/ with their own
# renderer of the features the kustomization uses (resources, namespace, labels, images).
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
step() { printf '\n== %s\n' "$*"; }
check() {
  local name="$1"
  shift
  if "$@"; then
    echo "ok: $name"
  else
    echo "FAILED: $name" >&2
    failed+=("$name")
  fi
}
require() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "missing tool: $1 (install the Debian package $2)" >&2
    exit 2
  fi
}
require docker-compose docker-compose
require yamllint yamllint
[ -x node_modules/.bin/jest ] || { echo "node_modules is missing: run npm ci" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

compose_config() {
  # docker/.env is the operator's; CI checks the committed example in its place.
  APP_ENV_FILE=.env.example docker-compose \
    --env-file docker/.env.example -f docker/docker-compose.yml config -q
}
step "docker-compose config -q (docker/docker-compose.yml, settings from docker/.env.example)"
check "docker-compose config" compose_config

dockerfile_lint() {
  # The CLI exits 1 on errors only; a warning fails this check too.
  local out
  out="$(node_modules/.bin/dockerfile-utils lint docker/Dockerfile)" || { echo "$out"; return 1; }
  [ -z "$out" ] || { echo "$out"; return 1; }
}
step "dockerfile-utils lint docker/Dockerfile"
check "Dockerfile lint" dockerfile_lint
check "docker/entrypoint.sh syntax" sh -n docker/entrypoint.sh

same_node_flags() {
  # The orchestrator's node flags (the measured young-generation size and GC settings,
  # docs/performance.md) are the same wherever it is started: npm run start:orchestrator, the
  # image's entry point, npm run up. Every --flag counts except the image's source maps.
  local from_npm from_image from_up
  flags() { grep -oE -- '--[a-z][a-z0-9-]*(=[0-9]+)?' | grep -vx -- '--enable-source-maps' | sort | paste -sd' '; }
  from_npm="$(node -p "require('./package.json').scripts['start:orchestrator']" | flags)"
  from_image="$(grep '^ *orchestrator)' docker/entrypoint.sh | flags)"
  from_up="$(sed -n '/^const ORCHESTRATOR_ARGS/,/];/p' scripts/up/up.ts | flags)"
  echo "npm: [$from_npm] image: [$from_image] up: [$from_up]"
  [ -n "$from_npm" ] && [ "$from_npm" = "$from_image" ] && [ "$from_npm" = "$from_up" ]
}
check "orchestrator node flags agree (package.json, entrypoint.sh, npm run up)" same_node_flags

render() {
  kubectl kustomize k8s >"$tmp/k8s.yaml" || return 1
  echo "rendered $(grep -c '^kind:' "$tmp/k8s.yaml") objects: $(grep '^kind:' "$tmp/k8s.yaml" | cut -d' ' -f2 | sort | uniq -c | tr -s ' ' | paste -sd, -)"
}
step "kubectl kustomize k8s (offline)"
if command -v kubectl >/dev/null 2>&1; then
  check "kubectl kustomize" render
else
  echo "kubectl is not installed: the jest checks below render k8s/ with the built-in renderer"
fi

step "yamllint --strict (.yamllint)"
check "yamllint" yamllint --strict -c .yamllint .yamllint docker/docker-compose.yml k8s

step "dist/ for the entry-point and dependency checks"
stale="$(find apps libs package.json tsconfig.json tsconfig.build.json -type f \
  -newer dist/apps/orchestrator/src/main.js -print -quit 2>/dev/null || echo missing)"
if [ ! -f dist/apps/orchestrator/src/main.js ] || [ -n "$stale" ]; then
  check "npm run build" npm run -s build
else
  echo "dist/ is up to date"
fi

step "jest: schemas (kubernetes-models), kubernetes-types, settings per service, image, compose"
check "deploy specs" node_modules/.bin/jest -c test/deploy/jest.static.config.js

echo
if [ "${#failed[@]}" -gt 0 ]; then
  echo "check-deploy: ${#failed[@]} check(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "check-deploy: all checks passed"
