/**
 * How Preflight uses the early reads (lib/core/preflight-prefetch.ts) without trusting an old "no answer".
 *
 * An early answer that a region or a peer stack *answered* is used as is: if it went stale, the steps after
 * Preflight meet the real state exactly as before (a failover's RPO guard refuses an unknown lag while the old
 * primary answers; PreparePeers fails and the run resumes). An early "no answer" is the answer that lets a run
 * go further (a failover past an unknown RPO lag, a peer left unprepared), so it is asked again at Preflight's
 * start, and the fresh answer is the one that counts:
 *
 * - where the verdict depends on it (the old primary's probe while `maxRpoLagMs` is set and no lag can be
 *   read; a peer whose region's RDS API answered early, or was not probed), Preflight waits for the fresh
 *   read to end, as it did before there were early reads: only the SDK giving up is "no answer";
 * - otherwise (the lag bounds the loss; a peer in a region whose RDS API did not answer early either) the
 *   fresh answer is used if it has come by the time the topology has been read, and not waited for.
 *
 * So a region that is down is waited for once, early, unless a safety decision rests on it.
 */
import { describeError } from '../core/errors.ts';
import type { PeerProbe } from '../core/peers.ts';
import type { PreflightPrefetch } from '../core/preflight-prefetch.ts';
import type { World } from './world.ts';

export interface Reachability {
  readonly reachable: boolean;
  readonly reason: string;
}

/** A read whose answer can be looked at without waiting: `value()` is undefined until it has resolved. */
interface Tracked<T> {
  readonly promise: Promise<T>;
  value(): T | undefined;
}

function tracked<T>(promise: Promise<T>): Tracked<T> {
  let value: T | undefined;
  promise.then(
    (resolved) => (value = resolved),
    () => undefined,
  );
  return { promise, value: () => value };
}

export interface EarlyReadsOptions {
  /** Resolves once Preflight has read the topology. */
  readonly topologyRead: Promise<unknown>;
}

/**
 * The RDS probes (failover) and peer probes of one Preflight, early answers reused by the rule above. Every
 * fresh read starts in the constructor, together with Preflight's other reads.
 */
export class EarlyReads {
  readonly #world: World;
  readonly #prefetch: PreflightPrefetch | undefined;
  readonly #options: EarlyReadsOptions;
  readonly #freshProbes = new Map<string, Tracked<Reachability>>();
  readonly #freshPeers = new Map<string, Tracked<PeerProbe>>();

  constructor(world: World, prefetch: PreflightPrefetch | undefined, probedRegions: readonly string[], options: EarlyReadsOptions) {
    this.#world = world;
    this.#prefetch = prefetch;
    this.#options = options;
    for (const region of probedRegions) {
      if (!this.#earlyProbe(region)?.reachable) this.#freshProbes.set(region, this.#probe(region));
    }
    const peers = world.peers;
    for (const early of prefetch?.peers ?? []) {
      if (!early.reachable && peers) {
        this.#freshPeers.set(early.region, tracked(peers.probe(early.region).catch((error: unknown): PeerProbe => ({ region: early.region, reachable: false, reason: describeError(error) }))));
      }
    }
  }

  /** Every fresh read in flight, for the caller's unhandled-rejection guard. */
  pending(): Promise<unknown>[] {
    return [...this.#freshProbes.values(), ...this.#freshPeers.values()].map((read) => read.promise);
  }

  /**
   * Whether `region`'s RDS API answers. `verdictDepends`: a failover with `maxRpoLagMs` and no lag read, where
   * "no answer" lets it proceed without a lag bound.
   */
  async regionReachability(region: string, verdictDepends: boolean): Promise<Reachability> {
    const early = this.#earlyProbe(region);
    const fresh = this.#freshProbes.get(region) ?? this.#probe(region);
    if (!early) return fresh.promise;
    if (early.reachable) return { reachable: true, reason: `${early.reason} (read early)` };
    if (verdictDepends) return fresh.promise;
    await Promise.race([fresh.promise, this.#options.topologyRead]);
    return fresh.value() ?? { reachable: false, reason: `${early.reason} (read early), and no answer yet when asked again (the verdict does not depend on it)` };
  }

  /** The peer stacks' probes: early ones reused by the rule above; without early ones, every peer is probed now. */
  async peerProbes(probeAll: () => Promise<PeerProbe[] | undefined>): Promise<PeerProbe[] | undefined> {
    const early = this.#prefetch?.peers;
    if (!early || !this.#world.peers) return probeAll();
    return Promise.all(
      early.map(async (probe): Promise<PeerProbe> => {
        const fresh = this.#freshPeers.get(probe.region);
        if (probe.reachable || !fresh) return { ...probe, reason: `${probe.reason} (read early)` };
        // A peer in a region whose RDS API did not answer early either is in a region that is down: not waited for.
        // Any other is waited for to the end, as before there were early reads (a cold peer may take seconds).
        if (this.#earlyProbe(probe.region)?.reachable !== false) return fresh.promise;
        await Promise.race([fresh.promise, this.#options.topologyRead]);
        return fresh.value() ?? { ...probe, reason: `${probe.reason} (read early), and no answer yet when asked again (its region's RDS API did not answer either)` };
      }),
    );
  }

  #earlyProbe(region: string) {
    return this.#prefetch?.regionProbes.find((probe) => probe.region === region);
  }

  #probe(region: string): Tracked<Reachability> {
    const read = tracked(this.#world.switchover.probeRegion(region));
    read.promise.catch(() => undefined); // awaited (and rethrown) only where the verdict uses it
    return read;
  }
}
