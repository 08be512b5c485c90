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

describe('drill --scenario region-outage options', () => {
  it('takes the regions writer first and the outage timings, and defaults to a 64 s run (a dead region costs the SDK timeout: the failback must fit)', () => {
    expect(parseDrillOptions(['--scenario', 'region-outage', '--regions', 'us-east-1,us-west-2', '--outage-at-ms', '4000', '--down-ms', '2000', '--max-rpo-lag-ms', '500'])).toMatchObject({
      scenario: 'region-outage',
      regions: ['us-east-1', 'us-west-2'],
      outageAtMs: 4000,
      downMs: 2000,
      maxRpoLagMs: 500,
      durationMs: 64_000,
    });
  });

  it.each([
    [['--regions', 'us-east-1'], /--regions must be two different AWS region names/],
    [['--regions', 'us-east-1,us-east-1'], /--regions must be two different AWS region names/],
    [['--regions', 'us-east-1,local'], /--regions must be two different AWS region names/],
    [['--outage-at-ms', '3000'], /--outage-at-ms applies only to --scenario region-outage/],
    [['--scenario', 'region-outage', '--duration', '10', '--outage-at-ms', '12000'], /must be within --duration/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseDrillOptions(argv)).toThrow(InvalidInputError);
    expect(() => parseDrillOptions(argv)).toThrow(message);
  });
});

describe('drill --lambda-latency-ms', () => {
  it('defaults to 0 and takes a whole number of milliseconds up to 10 s', () => {
    expect(parseDrillOptions([])).toMatchObject({ lambdaLatencyMs: 0 });
    expect(parseDrillOptions(['--lambda-latency-ms', '300'])).toMatchObject({ lambdaLatencyMs: 300 });
  });

  it.each([['-1'], ['0.5'], ['10001'], ['fast']])('refuses %s', (value) => {
    expect(() => parseDrillOptions(['--lambda-latency-ms', value])).toThrow(InvalidInputError);
    expect(() => parseDrillOptions(['--lambda-latency-ms', value])).toThrow(/--lambda-latency-ms/);
  });
});
