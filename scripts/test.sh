#!/bin/sh
# All tests: type check, then every vitest suite (unit, adapters, Kubernetes adapter, state machines,
# packaging, and the integration tests and drill on real PostgreSQL + PgBouncer, the report chart in
# headless Chromium). Ends with one "N passed, N failed" line.
set -eu
mkdir -p .cache
sh "$(dirname "$0")/ensure-chromium.sh"
tsc --noEmit
status=0
vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-results.json "$@" || status=$?
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(".cache/vitest-results.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
exit "$status"
