import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type Change,
  type ResourceRecordSet,
  type RRType,
} from '@aws-sdk/client-route-53';
import type { Config } from '../core/config.ts';
import { decide, type Decision } from '../core/decision.ts';
import { InvalidConfigError, InvalidInputError, StaleChangeError, UpstreamError, UpstreamTimeoutError } from '../core/errors.ts';
import { TrafficKind, type TrafficAdapter, type TrafficChange, type TrafficTargetState } from '../core/types.ts';
import type { AwsClientPool as AwsClients } from './aws-client-pool.ts';
import { toFailoverError } from './aws-errors.ts';

const MAX_WEIGHT = 255;
const PAGE_SIZE = 100;
// A weighted record set has at most a handful of members per region; more pages means a broken listing.
const MAX_PAGES = 50;
const DEFAULT_POLL_INTERVAL_MS = 2_000;

interface ConfiguredRecord {
  readonly region: string;
  readonly hostedZoneId: string;
  readonly recordName: string;
  readonly recordType: RRType;
  readonly setIdentifier: string;
  /** `hostedZoneId/recordName/recordType/setIdentifier`: the TrafficTargetState resource. */
  readonly resource: string;
}

export interface Route53AdapterOptions {
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Pause between GetChange polls. */
  readonly pollIntervalMs?: number;
}

/** The resource name a Route 53 weighted record has in traffic states and changes. */
export function route53Resource(record: { hostedZoneId: string; recordName: string; recordType: string; setIdentifier: string }): string {
  return `${record.hostedZoneId}/${normalizeName(record.recordName)}/${record.recordType}/${record.setIdentifier}`;
}

/**
 * Route 53 weighted records, one per configured region (by SetIdentifier). All calls go to the
 * us-east-1 client (the control plane). `apply` re-reads every record it changes, refuses a change
 * whose weight is no longer `from` (StaleChangeError), skips one already at `to`, then sends ONE
 * ChangeResourceRecordSets batch per hosted zone (Route 53 applies a batch all-or-nothing) of UPSERTs
 * that carry each whole record as read (TTL, ResourceRecords or AliasTarget, HealthCheckId, ...) with
 * only Weight changed, and polls GetChange until INSYNC within `traffic.route53ChangeTimeoutSeconds`.
 */
export class Route53TrafficAdapter implements TrafficAdapter {
  readonly kind = TrafficKind.Route53;
  readonly #clients: AwsClients;
  readonly #records: readonly ConfiguredRecord[];
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #pollIntervalMs: number;

  constructor(clients: AwsClients, config: Config, options: Route53AdapterOptions = {}) {
    this.#clients = clients;
    this.#records = configuredRecords(config);
    this.#timeoutMs = config.traffic.route53ChangeTimeoutSeconds * 1000;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  }

  get configured(): boolean {
    return this.#records.length > 0;
  }

  async observe(): Promise<TrafficTargetState[]> {
    const found = await this.#read(this.#records);
    return this.#records.map((record) => {
      const recordSet = found.get(record.resource)!;
      const healthChecked = Boolean(recordSet.HealthCheckId) || recordSet.AliasTarget?.EvaluateTargetHealth === true;
      return { kind: this.kind, region: record.region, resource: record.resource, weight: recordSet.Weight!, ...(healthChecked ? {} : { withoutHealthCheck: true as const }) };
    });
  }

  async apply(changes: readonly TrafficChange[]): Promise<{ readonly decision: Decision; readonly durationMs: number }> {
    const started = this.#now();
    const targets = changes.map((change) => ({ change, record: this.#validate(change) }));
    const current = await this.#read(targets.map((target) => target.record));
    const upserts = new Map<string, Change[]>();
    const applied: string[] = [];
    const skipped: string[] = [];
    for (const { change, record } of targets) {
      const recordSet = current.get(record.resource)!;
      const weight = recordSet.Weight!;
      if (weight === change.to) {
        skipped.push(`${record.region} already ${change.to}`);
        continue;
      }
      if (weight !== change.from) {
        throw new StaleChangeError(`route 53 weight of ${record.resource} is ${weight}, not the expected ${change.from}: someone else changed it; observe and plan again`);
      }
      const batch = upserts.get(record.hostedZoneId) ?? [];
      batch.push({ Action: 'UPSERT', ResourceRecordSet: { ...recordSet, Weight: change.to } });
      upserts.set(record.hostedZoneId, batch);
      applied.push(`${record.region} ${change.from} -> ${change.to}`);
    }
    const changeIds: string[] = [];
    for (const [hostedZoneId, batch] of upserts) {
      changeIds.push(await this.#submit(hostedZoneId, batch));
    }
    for (const changeId of changeIds) await this.#waitInSync(changeId, started);
    const durationMs = this.#now() - started;
    const decision =
      applied.length === 0
        ? decide('traffic:route53', 'nothing-to-do', `every weighted record already had its target weight (${skipped.join(', ') || 'no changes'})`)
        : decide(
            'traffic:route53',
            'applied',
            `weights set and INSYNC (${changeIds.join(', ')}): ${applied.join(', ')}${skipped.length ? `; unchanged: ${skipped.join(', ')}` : ''}`,
          );
    return { decision, durationMs };
  }

  #validate(change: TrafficChange): ConfiguredRecord {
    if (change.kind !== this.kind) throw new InvalidInputError(`the route 53 adapter cannot apply a ${change.kind} change (${change.resource})`);
    const record = this.#records.find((candidate) => candidate.resource === change.resource && candidate.region === change.region);
    if (!record) throw new InvalidInputError(`weighted record ${change.resource} is not configured for region ${change.region}`);
    if (!Number.isInteger(change.to) || change.to < 0 || change.to > MAX_WEIGHT) {
      throw new InvalidInputError(`route 53 weight for ${change.region} must be an integer 0..${MAX_WEIGHT}, got ${change.to}`);
    }
    return record;
  }

  /** resource -> the whole record set as Route 53 lists it; every wanted record must exist and be weighted. */
  async #read(wanted: readonly ConfiguredRecord[]): Promise<Map<string, ResourceRecordSet>> {
    const byName = new Map<string, ConfiguredRecord[]>();
    for (const record of wanted) {
      const key = `${record.hostedZoneId}/${normalizeName(record.recordName)}/${record.recordType}`;
      byName.set(key, [...(byName.get(key) ?? []), record]);
    }
    const listed = await Promise.all([...byName.values()].map((group) => this.#listWeighted(group[0]!)));
    const found = new Map<string, ResourceRecordSet>();
    [...byName.values()].forEach((group, index) => {
      const sets = listed[index]!;
      for (const record of group) {
        const recordSet = sets.get(record.setIdentifier);
        const path = `regions.${record.region}.traffic.route53`;
        if (!recordSet) throw new InvalidConfigError(`${path}: no ${record.recordType} record ${record.recordName} with SetIdentifier ${record.setIdentifier} in hosted zone ${record.hostedZoneId}`);
        if (recordSet.Weight === undefined) throw new InvalidConfigError(`${path}: record ${record.resource} is not a weighted record`);
        if (recordSet.TrafficPolicyInstanceId) throw new InvalidConfigError(`${path}: record ${record.resource} is managed by traffic policy instance ${recordSet.TrafficPolicyInstanceId}`);
        found.set(record.resource, recordSet);
      }
    });
    return found;
  }

  /** Every record set named `recordName` of `recordType`, by SetIdentifier, following the listing's pages. */
  async #listWeighted(record: ConfiguredRecord): Promise<Map<string, ResourceRecordSet>> {
    const wantedName = normalizeName(record.recordName);
    const sets = new Map<string, ResourceRecordSet>();
    let start: { name: string; type: RRType; identifier?: string } = { name: record.recordName, type: record.recordType };
    for (let page = 0; page < MAX_PAGES; page += 1) {
      let response;
      try {
        response = await this.#clients.route53().send(
          new ListResourceRecordSetsCommand({
            HostedZoneId: record.hostedZoneId,
            StartRecordName: start.name,
            StartRecordType: start.type,
            ...(start.identifier ? { StartRecordIdentifier: start.identifier } : {}),
            MaxItems: PAGE_SIZE,
          }),
        );
      } catch (error) {
        throw toFailoverError(error, `route53:ListResourceRecordSets ${record.hostedZoneId} ${record.recordName} ${record.recordType}`);
      }
      // The listing is sorted by name then type and starts at ours: the first other name/type ends our records.
      for (const recordSet of response.ResourceRecordSets ?? []) {
        if (normalizeName(recordSet.Name ?? '') !== wantedName || recordSet.Type !== record.recordType) return sets;
        if (recordSet.SetIdentifier !== undefined) sets.set(recordSet.SetIdentifier, recordSet);
      }
      const next = response.NextRecordName;
      if (!response.IsTruncated || !next || normalizeName(next) !== wantedName || response.NextRecordType !== record.recordType) return sets;
      start = { name: next, type: response.NextRecordType, ...(response.NextRecordIdentifier ? { identifier: response.NextRecordIdentifier } : {}) };
    }
    throw new UpstreamError(`route53:ListResourceRecordSets ${record.hostedZoneId} ${record.recordName} did not end within ${MAX_PAGES} pages`);
  }

  async #submit(hostedZoneId: string, changes: Change[]): Promise<string> {
    let changeInfo;
    try {
      const response = await this.#clients.route53().send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: hostedZoneId,
          ChangeBatch: { Comment: 'aurora-global-failover: traffic weights follow the writer policy', Changes: changes },
        }),
      );
      changeInfo = response.ChangeInfo;
    } catch (error) {
      throw toFailoverError(error, `route53:ChangeResourceRecordSets ${hostedZoneId}`);
    }
    if (!changeInfo?.Id) throw new UpstreamError(`route53:ChangeResourceRecordSets ${hostedZoneId} returned no change id`);
    return changeInfo.Id;
  }

  /** Polls GetChange until INSYNC; the bound counts from the start of `apply`. */
  async #waitInSync(changeId: string, started: number): Promise<void> {
    const deadline = started + this.#timeoutMs;
    for (;;) {
      let status;
      try {
        status = (await this.#clients.route53().send(new GetChangeCommand({ Id: changeId }))).ChangeInfo?.Status;
      } catch (error) {
        throw toFailoverError(error, `route53:GetChange ${changeId}`);
      }
      if (status === 'INSYNC') return;
      const remaining = deadline - this.#now();
      if (remaining <= 0) {
        throw new UpstreamTimeoutError(
          `route 53 change ${changeId} still ${status ?? 'unknown'} after ${this.#timeoutMs / 1000} s (traffic.route53ChangeTimeoutSeconds); the weights are submitted and will converge`,
        );
      }
      await this.#sleep(Math.min(this.#pollIntervalMs, remaining));
    }
  }
}

function configuredRecords(config: Config): ConfiguredRecord[] {
  return Object.entries(config.regions).flatMap(([region, section]) => {
    const route53 = section.traffic.route53;
    if (!route53) return [];
    const record = { region, hostedZoneId: route53.hostedZoneId, recordName: route53.recordName, recordType: route53.recordType, setIdentifier: route53.setIdentifier };
    return [{ ...record, resource: route53Resource(record) }];
  });
}

/** Route 53 returns fully qualified, lowercase names (`app.example.com.`); config names have no final dot. */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
