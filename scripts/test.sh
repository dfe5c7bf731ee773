#!/usr/bin/env bash
# npm test: every check of the default run, and how long each took.
#
#   prerequisites (the tools, PostgreSQL and Redis answer: seconds, before anything else)
#   lint, then (once the build    ┐ at the same time: a 2-core machine runs both lanes side by
#   is there) check:deploy and    │ side; lint needs nothing built, the two checks need dist/ and
#   check:observability           │ wait for the other lane's build
#   typecheck, build,             │
#   openapi:lint, test:unit       ┘ the unit tests need only the sources
#   test:e2e (the built apps; two files at a time, see jest.e2e.config.js)
#
# Each lane stops at its first failure (the unit tests still run after a failed build: they need
# none), test:e2e only after both lanes passed. The run ends with each phase's wall time, also
# written as JSON to TEST_PHASES_FILE when set.
set -uo pipefail
cd "$(dirname "$0")/.."

declare -a names=() seconds=() codes=()
record() { names+=("$1"); seconds+=("$2"); codes+=("$3"); }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Runs `npm run <phase>`, appends "<phase> <seconds> <exit code>" to the lane's file.
phase() {
  local lane_file="$1" name="$2" start code
  start="$(now)"
  npm run -s "$name"
  code=$?
  echo "$name $(elapsed "$start" "$(now)") $code" >>"$lane_file"
  return "$code"
}

summary() {
  local total i outcome failed=0
  total="$(elapsed "$run_start" "$(now)")"
  echo
  echo "npm test, time per phase (wall; the lint lane ran beside the build lane):"
  for i in "${!names[@]}"; do
    case "${codes[$i]}" in
      0) outcome=ok ;;
      skipped) outcome="not run: an earlier phase failed" ;;
      *) outcome="FAILED (exit ${codes[$i]})" ;;
    esac
    printf '  %-22s %7s s  %s\n' "${names[$i]}" "${seconds[$i]}" "$outcome"
    [ "${codes[$i]}" = 0 ] || failed=1
  done
  printf '  %-22s %7s s\n' total "$total"
  if [ -n "${TEST_PHASES_FILE:-}" ]; then
    {
      echo "{"
      for i in "${!names[@]}"; do echo "  \"${names[$i]}\": ${seconds[$i]},"; done
      echo "  \"total\": $total"
      echo "}"
    } >"$TEST_PHASES_FILE"
  fi
  return "$failed"
}

run_start="$(now)"
start="$(now)"
npm run -s prerequisites
code=$?
record prerequisites "$(elapsed "$start" "$(now)")" "$code"
if [ "$code" != 0 ]; then
  summary
  exit "$code"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The build lane writes "ok" or "failed" here once the build ended; the checks lane waits for it.
built="$work/built"
# Waits for the build lane's build; true if it succeeded.
build_succeeded() {
  while [ ! -s "$built" ]; do sleep 1; done
  [ "$(cat "$built")" = ok ]
}

# The checks lane writes its output to a file, shown when it ends, so the two never interleave.
(
  phase "$work/lint.times" lint &&
    build_succeeded &&
    phase "$work/lint.times" check:deploy &&
    phase "$work/lint.times" check:observability
) >"$work/lint.log" 2>&1 &
lint_pid=$!
(
  if phase "$work/build.times" typecheck && phase "$work/build.times" build; then
    echo ok >"$built"
    phase "$work/build.times" openapi:lint
  else
    echo failed >"$built"
  fi
  phase "$work/build.times" test:unit
)
wait "$lint_pid"
echo
echo "── lint, check:deploy, check:observability (ran beside the build lane) ──"
cat "$work/lint.log"
while read -r name secs code; do record "$name" "$secs" "$code"; done \
  < <(cat "$work/lint.times" "$work/build.times" 2>/dev/null)
for phase_name in check:deploy check:observability; do
  grep -q "^$phase_name " "$work/lint.times" 2>/dev/null || record "$phase_name" 0 skipped
done

# The end-to-end suites run after both lanes passed.
if printf '%s\n' "${codes[@]}" | grep -qvx 0; then
  record test:e2e 0 skipped
else
  phase "$work/e2e.times" test:e2e
  read -r name secs code <"$work/e2e.times"
  record "$name" "$secs" "$code"
fi

summary
