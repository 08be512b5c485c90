/**
 * Every value import of zod in code that reaches a Lambda bundle is a namespace import (`import * as z`):
 * with a named import (`import { z }`) esbuild keeps zod's every locale (~360 KB per bundle), which a
 * merge of issue 8's lib/core/peers.ts brought back into five functions once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('zod imports in bundled code', () => {
  it('imports zod as a namespace wherever it imports a value', () => {
    // Prepare
    const files = [...sourceFiles(join(ROOT, 'lib')), ...sourceFiles(join(ROOT, 'functions'))];

    // Act
    const named = files.filter((file) => /^import\s+(?!type\b)\{[^}]*\}\s+from\s+'zod(\/[^']*)?';/m.test(readFileSync(file, 'utf8')));

    // Assess
    expect(files.length).toBeGreaterThan(20);
    expect(named.map((file) => relative(ROOT, file))).toEqual([]);
  });
});
