/**
 * The README is the front door: what it is and the Quick start (the two commands) within its first 40
 * lines, under 300 lines in all, depth in docs/. Every relative link in the README and docs/*.md points to
 * a file that exists and, with a #fragment, to a heading that exists (GitHub's anchor rules).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const README = 'README.md';
const files = [README, ...readdirSync('docs').filter((file) => file.endsWith('.md')).map((file) => `docs/${file}`)];

/** GitHub's heading anchor: lower case, punctuation dropped (hyphens and underscores kept), spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let inFence = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const heading = !inFence && /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1] ?? '');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

function links(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '').filter((target) => !/^[a-z]+:/.test(target));
}

describe('README', () => {
  const lines = readFileSync(README, 'utf8').split('\n');

  it('is under 300 lines', () => {
    expect(lines.length).toBeLessThan(300);
  });

  it('says what it is and gives the Quick start with both commands within the first 40 lines', () => {
    const head = lines.slice(0, 40).join('\n');
    expect(head).toMatch(/^# aurora-global-failover\n/);
    expect(head).toContain('## Quick start');
    expect(head).toContain('npm run drill');
    expect(head).toContain('npm test');
    expect(head).toMatch(/first run/i);
  });
});

describe.each(files)('%s links', (file) => {
  it('resolve to existing files and headings', () => {
    const broken = links(file).filter((target) => {
      const [path, fragment] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? file : normalize(join(dirname(file), path));
      if (!existsSync(resolved)) return true;
      return fragment !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(decodeURIComponent(fragment));
    });
    expect(broken).toEqual([]);
  });
});
