#!/bin/sh
# All tests: type check, then every vitest suite (unit, state machine, Kubernetes adapter, packaging,
# and the integration tests on real PostgreSQL + PgBouncer).
set -eu
tsc --noEmit
vitest run "$@"
