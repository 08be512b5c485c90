/** The console inputs documented in docs/runbook.md (events/switchover/) stay valid; bad input names its field. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lib/adapters/config-file.ts';
import { parseSwitchoverInput } from '../../lib/core/switchover-input.ts';

const dir = new URL('../../events/switchover/', import.meta.url);
const config = await loadConfigFile(new URL('../../config/example.yml', import.meta.url).pathname);
const samples = readdirSync(dir).filter((file) => file.endsWith('.json'));

describe('switchover console input', () => {
  it('has samples', () => {
    expect(samples.length).toBeGreaterThanOrEqual(4);
  });

  it.each(samples)('%s is a valid input for config/example.yml', (file) => {
    // Act
    const { input, target } = parseSwitchoverInput(JSON.parse(readFileSync(new URL(file, dir), 'utf8')), config);

    // Assess
    expect(input.globalClusterId).toBe('app-global');
    expect(Object.keys(config.regions)).toContain(target.region);
    expect(target.dbClusterArn).toBe(config.regions[target.region]!.dbClusterArn);
  });

  it.each([
    [{ globalClusterId: 'app-global', targetRegion: 'eu-west-9' }, 'targetRegion "eu-west-9" is not a configured member of app-global'],
    [{ globalClusterId: 'app-global', targetRegion: 'us-west-2', targetDbClusterArn: 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2' }, 'give exactly one of targetRegion or targetDbClusterArn'],
    [{ globalClusterId: 'app-global' }, 'give exactly one of targetRegion or targetDbClusterArn'],
    [{ globalClusterId: 'other', targetRegion: 'us-west-2' }, 'globalClusterId "other" is not the configured global cluster app-global'],
    [{ globalClusterId: 'app-global', targetRegion: 'us-west-2', mode: 'promote' }, 'mode'],
    [{ globalClusterId: 'app-global', targetRegion: 'us-west-2', acceptDataloss: true }, 'acceptDataloss'],
  ])('rejects %j naming the problem', (raw, message) => {
    expect(() => parseSwitchoverInput(raw, config)).toThrow(message);
  });
});
