import { DescribeEndpointGroupCommand, UpdateEndpointGroupCommand, type EndpointGroup } from '@aws-sdk/client-global-accelerator';
import type { Config } from '../core/config.ts';
import { decide, type Decision } from '../core/decision.ts';
import { InvalidConfigError, InvalidInputError, StaleChangeError, UpstreamError } from '../core/errors.ts';
import { TrafficKind, type TrafficAdapter, type TrafficChange, type TrafficTargetState } from '../core/types.ts';
import type { AwsClientPool as AwsClients } from './aws-client-pool.ts';
import { toFailoverError } from './aws-errors.ts';

/** The API's default dial when an endpoint group never had one set. */
const DEFAULT_TRAFFIC_DIAL = 100;
// The dial is a float in the API; the planner only ever asks for whole percents.
const SAME_DIAL_TOLERANCE = 1e-6;

interface ConfiguredGroup {
  readonly region: string;
  readonly endpointGroupArn: string;
}

export interface TrafficAdapterOptions {
  /** Milliseconds since the epoch; injectable so tests measure durations deterministically. */
  readonly now?: () => number;
}

/**
 * Global Accelerator traffic dials, one endpoint group per configured region. All calls go to the
 * us-west-2 client (the only region serving the API). `apply` is compare-and-set per change: it
 * re-describes the group, skips a change already at `to`, refuses one whose dial is no longer `from`.
 *
 * Each update sends only what changes: EndpointGroupArn and TrafficDialPercentage. Every other request
 * field of UpdateEndpointGroup is optional (API reference: "Required: No"), and EndpointConfigurations,
 * when sent, replaces the group's whole endpoint list. Rebuilding that list from DescribeEndpointGroup
 * would drop what the description does not return (each endpoint's AttachmentArn for cross-account
 * endpoints) and would undo an endpoint change someone made between our describe and our update. So it
 * is never sent, and neither are the health-check fields or PortOverrides.
 */
export class GlobalAcceleratorTrafficAdapter implements TrafficAdapter {
  readonly kind = TrafficKind.GlobalAccelerator;
  readonly #clients: AwsClients;
  readonly #groups: readonly ConfiguredGroup[];
  readonly #now: () => number;

  constructor(clients: AwsClients, config: Config, options: TrafficAdapterOptions = {}) {
    this.#clients = clients;
    this.#groups = configuredGroups(config);
    this.#now = options.now ?? Date.now;
  }

  /** True when at least one region configures an endpoint group. */
  get configured(): boolean {
    return this.#groups.length > 0;
  }

  async observe(): Promise<TrafficTargetState[]> {
    return Promise.all(
      this.#groups.map(async (group) => {
        const described = await this.#describe(group);
        return { kind: this.kind, region: group.region, resource: group.endpointGroupArn, weight: dialOf(described) };
      }),
    );
  }

  async apply(changes: readonly TrafficChange[]): Promise<{ readonly decision: Decision; readonly durationMs: number }> {
    const started = this.#now();
    const targets = changes.map((change) => this.#validate(change));
    const applied: string[] = [];
    const skipped: string[] = [];
    // One at a time: the API refuses concurrent updates of one accelerator (TransactionInProgressException).
    for (const { change, group } of targets) {
      const described = await this.#describe(group);
      const current = dialOf(described);
      if (sameDial(current, change.to)) {
        skipped.push(`${group.region} already ${change.to}%`);
        continue;
      }
      if (!sameDial(current, change.from)) {
        throw new StaleChangeError(
          `global accelerator dial of ${group.region} (${group.endpointGroupArn}) is ${current}%, not the expected ${change.from}%: someone else changed it; observe and plan again`,
        );
      }
      await this.#update(group, change.to);
      applied.push(`${group.region} ${change.from}% -> ${change.to}%`);
    }
    const durationMs = this.#now() - started;
    const decision =
      applied.length === 0
        ? decide('traffic:global-accelerator', 'nothing-to-do', `every traffic dial already had its target value (${skipped.join(', ') || 'no changes'})`)
        : decide('traffic:global-accelerator', 'applied', `traffic dials set: ${applied.join(', ')}${skipped.length ? `; unchanged: ${skipped.join(', ')}` : ''}`);
    return { decision, durationMs };
  }

  #validate(change: TrafficChange): { change: TrafficChange; group: ConfiguredGroup } {
    if (change.kind !== this.kind) throw new InvalidInputError(`the global accelerator adapter cannot apply a ${change.kind} change (${change.resource})`);
    const group = this.#groups.find((candidate) => candidate.endpointGroupArn === change.resource && candidate.region === change.region);
    if (!group) throw new InvalidInputError(`endpoint group ${change.resource} is not configured for region ${change.region}`);
    if (!Number.isFinite(change.to) || change.to < 0 || change.to > 100) {
      throw new InvalidInputError(`traffic dial for ${change.region} must be 0..100, got ${change.to}`);
    }
    return { change, group };
  }

  async #describe(group: ConfiguredGroup): Promise<EndpointGroup> {
    let endpointGroup: EndpointGroup | undefined;
    try {
      endpointGroup = (await this.#clients.globalAccelerator().send(new DescribeEndpointGroupCommand({ EndpointGroupArn: group.endpointGroupArn }))).EndpointGroup;
    } catch (error) {
      throw toFailoverError(error, `globalaccelerator:DescribeEndpointGroup ${group.endpointGroupArn}`);
    }
    if (!endpointGroup) throw new UpstreamError(`globalaccelerator:DescribeEndpointGroup ${group.endpointGroupArn} returned no endpoint group`);
    // A group in another region than configured would shift the wrong region's traffic.
    if (endpointGroup.EndpointGroupRegion && endpointGroup.EndpointGroupRegion !== group.region) {
      throw new InvalidConfigError(
        `regions.${group.region}.traffic.globalAccelerator.endpointGroupArn: the endpoint group serves ${endpointGroup.EndpointGroupRegion}, not ${group.region}`,
      );
    }
    return endpointGroup;
  }

  async #update(group: ConfiguredGroup, dial: number): Promise<void> {
    try {
      // Only the dial: see the class comment for why EndpointConfigurations is never sent.
      await this.#clients.globalAccelerator().send(new UpdateEndpointGroupCommand({ EndpointGroupArn: group.endpointGroupArn, TrafficDialPercentage: dial }));
    } catch (error) {
      throw toFailoverError(error, `globalaccelerator:UpdateEndpointGroup ${group.endpointGroupArn}`);
    }
  }
}

function configuredGroups(config: Config): ConfiguredGroup[] {
  return Object.entries(config.regions).flatMap(([region, section]) =>
    section.traffic.globalAccelerator ? [{ region, endpointGroupArn: section.traffic.globalAccelerator.endpointGroupArn }] : [],
  );
}

function dialOf(group: EndpointGroup): number {
  return group.TrafficDialPercentage ?? DEFAULT_TRAFFIC_DIAL;
}

function sameDial(a: number, b: number): boolean {
  return Math.abs(a - b) < SAME_DIAL_TOLERANCE;
}
