#!/bin/sh
# Makes sure headless Chromium is there for the report chart test (test/integration/report-chart.test.ts).
# As root on Debian/Ubuntu it installs Debian's `chromium` package with apt-get; otherwise it names the
# command to run and carries on (that one test then fails saying the same). Set CHROMIUM to use another binary.
set -eu
if command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing chromium from Debian packages (for the report chart test)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium >&2
else
  echo "ensure-chromium: the report chart test needs headless Chromium: apt-get install chromium (as root), or set CHROMIUM=<binary>" >&2
fi
