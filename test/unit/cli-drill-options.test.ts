import { describe, expect, it } from 'vitest';
import { parseDrillOptions } from '../../lib/cli/drill.ts';
import { InvalidInputError } from '../../lib/core/errors.ts';

describe('drill --write-alias / --read-alias', () => {
  it('passes aliases with - and . through to the drill, and leaves them out by default', () => {
    expect(parseDrillOptions(['--write-alias', 'app-db', '--read-alias', 'app-db.ro'])).toMatchObject({ writeAlias: 'app-db', readAlias: 'app-db.ro' });
    expect(parseDrillOptions([])).not.toHaveProperty('writeAlias');
  });

  it.each([
    [['--write-alias', 'app db'], /--write-alias must be a PgBouncer database name/],
    [['--read-alias', 'x"y'], /--read-alias must be a PgBouncer database name/],
    [['--write-alias', 'same', '--read-alias', 'same'], /must differ/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseDrillOptions(argv)).toThrow(InvalidInputError);
    expect(() => parseDrillOptions(argv)).toThrow(message);
  });
});
