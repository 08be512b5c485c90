/**
 * `npm run bundle-report`: packages the service (`sls package`, offline: config/example.yml unless
 * FAILOVER_CONFIG_FILE says otherwise) and prints, per function, the zip size, the JavaScript an import
 * loads (the handler file and the chunks it imports statically; chunks behind a dynamic `import()` load
 * only when reached) and how long a fresh Node process takes to import the handler (median and minimum
 * of --runs processes; module load and top-level code only, no invocation). Budgets: zip < 1 MB, import
 * < 100 ms. Exits 1 when a zip is over budget; import times depend on the machine, so they are printed
 * and flagged, never failed on.
 *
 *   npm run bundle-report -- [--dir <an existing package directory>] [--runs 7] [--stage example] [--region us-east-2]
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parseArgs } from 'node:util';
import { readZipEntries } from '../lib/local/read-zip.ts';

const ZIP_BUDGET_BYTES = 1024 * 1024;
const IMPORT_BUDGET_MS = 100;
const ROOT = join(import.meta.dirname, '..');

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    runs: { type: 'string', default: '7' },
    stage: { type: 'string', default: 'example' },
    region: { type: 'string', default: 'us-east-2' },
  },
  strict: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
  console.error(`bundle-report: --runs must be an integer from 1 to 50, got ${values.runs}`);
  process.exit(2);
}

const work = await mkdtemp(join(tmpdir(), 'bundle-report-'));
try {
  const packageDir = values.dir ?? (await packageService(join(work, 'package')));
  const zips = (await readdir(packageDir)).filter((file) => file.endsWith('.zip')).sort();
  if (zips.length === 0) throw new Error(`no .zip in ${packageDir}`);

  const rows: string[][] = [];
  let overBudget = 0;
  for (const zip of zips) {
    const zipPath = join(packageDir, zip);
    const { size } = await stat(zipPath);
    const bundleDir = join(work, zip.replace(/\.zip$/, ''));
    const modules = new Map<string, string>();
    for (const [name, data] of readZipEntries(await readFile(zipPath))) {
      await mkdir(dirname(join(bundleDir, name)), { recursive: true });
      await writeFile(join(bundleDir, name), data);
      if (name.endsWith('.mjs')) modules.set(name, data.toString('utf8'));
    }
    // The handler file is functions/<name>.mjs; its chunks live below functions/<name>.chunks/.
    const handlers = [...modules.keys()].filter((name) => /^functions\/[^/]+\.mjs$/.test(name));
    if (handlers.length !== 1) throw new Error(`${zip}: expected one handler file functions/<name>.mjs, found ${handlers.join(', ') || 'none'}`);
    const entry = join(bundleDir, handlers[0]!);
    const loadedBytes = sumBytes(modules, staticClosure(modules, handlers[0]!));
    const allBytes = sumBytes(modules, modules.keys());
    const times = [];
    for (let run = 0; run < runs; run += 1) times.push(await importMs(entry));
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    const zipOver = size >= ZIP_BUDGET_BYTES;
    if (zipOver) overBudget += 1;
    rows.push([
      zip,
      `${(size / 1024).toFixed(0)} KB${zipOver ? ' OVER' : ''}`,
      `${(loadedBytes / 1024).toFixed(0)} KB`,
      `${((allBytes - loadedBytes) / 1024).toFixed(0)} KB`,
      `${median.toFixed(0)} ms${median >= IMPORT_BUDGET_MS ? ' over' : ''}`,
      `${times[0]!.toFixed(0)} ms`,
    ]);
  }
  printTable(['function zip', 'zip', 'JS at import', 'JS lazy', `import median (${runs})`, 'import min'], rows);
  console.log(`\nBudgets: zip < ${ZIP_BUDGET_BYTES / 1024} KB (${overBudget} over), import < ${IMPORT_BUDGET_MS} ms. Node ${process.version}, ${os()}`);
  process.exitCode = overBudget > 0 ? 1 : 0;
} finally {
  await rm(work, { recursive: true, force: true });
}

/** `sls package` into dir, offline: packaging calls no AWS API, so placeholder credentials do when none are set. */
async function packageService(dir: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', FORCE_COLOR: '0' };
  if (!env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) Object.assign(env, { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'placeholder', AWS_EC2_METADATA_DISABLED: 'true' });
  console.log(`sls package --stage ${values.stage} --region ${values.region} ...`);
  const sls = join(ROOT, 'node_modules/osls/bin/serverless.js');
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, [sls, 'package', '--stage', values.stage!, '--region', values.region!, '--package', dir], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`sls package failed:\n${stdout}${stderr}`)) : resolve(),
    );
  });
  return dir;
}

/** The modules an import of `start` loads: it and, transitively, every module it imports statically (esbuild's minified `import...from"./x"` / `import"./x"`). */
function staticClosure(modules: ReadonlyMap<string, string>, start: string): Set<string> {
  const loaded = new Set<string>();
  const pending = [start];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (loaded.has(name)) continue;
    loaded.add(name);
    for (const match of (modules.get(name) ?? '').matchAll(/(?:\bimport|\bexport)(?:[^;"'()]*?\bfrom)?\s*"(\.\.?\/[^"]+)"/g)) {
      pending.push(posix.normalize(posix.join(posix.dirname(name), match[1]!)));
    }
  }
  return loaded;
}

function sumBytes(modules: ReadonlyMap<string, string>, names: Iterable<string>): number {
  let bytes = 0;
  for (const name of names) bytes += Buffer.byteLength(modules.get(name) ?? '');
  return bytes;
}

/** Milliseconds a fresh Node process spends in `await import(bundle)`. */
function importMs(entry: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(entry)}); process.stdout.write(String(performance.now() - t));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '', AWS_REGION: values.region! } }, (error, stdout, stderr) =>
      error ? reject(new Error(`importing ${entry} failed: ${stderr}`)) : resolve(Number(stdout)),
    );
  });
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
}

function os(): string {
  try {
    return `${execFileSync('nproc').toString().trim()} cores, load ${execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' ')}`;
  } catch {
    return 'cores unknown';
  }
}
