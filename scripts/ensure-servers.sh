#!/bin/sh
# Runs a command once PostgreSQL and PgBouncer (Debian packages) are installed: the drill and the
# integration tests run them as real processes. As root on Debian/Ubuntu it installs them with apt-get;
# otherwise it names the command to run and stops.
set -eu
have_servers() {
  command -v pgbouncer >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
if ! have_servers; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-servers: installing postgresql and pgbouncer from Debian packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql pgbouncer >&2
  else
    echo "ensure-servers: PostgreSQL and PgBouncer are needed: apt-get install postgresql pgbouncer (as root)" >&2
    exit 2
  fi
fi
exec "$@"
