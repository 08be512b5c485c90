/**
 * ObserveTopology's reads of the member clusters (DescribeDBClusters, each in its member's own region), with
 * bounds, so a dead region costs at most a bounded wait instead of the SDK's whole give-up time
 * (connect timeout x attempts, AWS_DEAD_REGION_CALL_MS) on every observation:
 *
 * - this stack's own region's member: awaited (this region answers, or nothing here can work);
 * - the writer's member in another region: at most REMOTE_WRITER_WAIT_MS from the start, one SDK connect
 *   timeout (a region that has not even connected by then does not answer);
 * - every other member: at most OTHER_MEMBERS_GRACE_MS after this region's member;
 * - a region that did not answer (or not in time) the last read of this World (a warm Lambda container:
 *   CheckSwitch polls) is not waited for at all; its read still starts, and an answer, even a late one,
 *   clears the mark.
 *
 * A member that is not read in time is recorded `unreachable` (the topology's `unanswered`): a writer without
 * an endpoint is never routed to nor tolerated (lib/core/topology.ts), and VerifyWriter still reads the
 * writer's own cluster in its own region before anything is repointed. Safety does not rest on these bounds.
 *
 * Worked example (us-west-2 dead, this stack in us-east-2): the old writer app-usw2 is read for 3 s, then
 * recorded unanswered; app-use2 answers in ~0.2 s. The next poll in the same container waits 0 s on us-west-2.
 */
import { DEFAULT_AWS_CLIENT_OPTIONS } from '../adapters/aws-client-pool.ts';
import type { MemberEndpointsResult, UnreachableMember } from '../adapters/rds.ts';
import { regionOfArn } from '../core/topology.ts';

/** How long members of other regions (neither the writer nor this region's) may take after this region's. */
export const OTHER_MEMBERS_GRACE_MS = 1_000;
/** How long a remote writer's member may take from the start: one SDK connect timeout. */
export const REMOTE_WRITER_WAIT_MS = DEFAULT_AWS_CLIENT_OPTIONS.connectionTimeoutMs;

export interface MemberToRead {
  readonly arn: string;
  readonly isWriter: boolean;
}

export interface BoundedMemberReadsInput {
  /** This stack's region. */
  readonly region: string;
  readonly members: readonly MemberToRead[];
  /** Reads some members (each in its own region); a member that fails is in `unreachable`, never a throw. */
  readonly read: (arns: readonly string[]) => Promise<MemberEndpointsResult>;
  /** Regions that did not answer this World's last read; updated here. Absent: no memory (a cold container). */
  readonly silentRegions?: Set<string>;
  readonly otherMembersGraceMs?: number;
  readonly remoteWriterWaitMs?: number;
}

export async function readMembersBounded(input: BoundedMemberReadsInput): Promise<MemberEndpointsResult> {
  const { region, members, read, silentRegions } = input;
  const graceMs = input.otherMembersGraceMs ?? OTHER_MEMBERS_GRACE_MS;
  const writerWaitMs = input.remoteWriterWaitMs ?? REMOTE_WRITER_WAIT_MS;
  const silent = (member: MemberToRead) => silentRegions?.has(regionOfArn(member.arn)) === true;
  const own = members.filter((member) => regionOfArn(member.arn) === region);
  const writer = members.filter((member) => member.isWriter && !own.includes(member) && !silent(member));
  const quiet = members.filter((member) => !own.includes(member) && !writer.includes(member) && silent(member));
  const others = members.filter((member) => !own.includes(member) && !writer.includes(member) && !quiet.includes(member));

  const started = Date.now();
  const start = (list: readonly MemberToRead[]) => (list.length === 0 ? Promise.resolve(EMPTY) : remember(read(list.map((member) => member.arn)), silentRegions));
  const [ownRead, writerRead, othersRead, quietRead] = [start(own), start(writer), start(others), start(quiet)];

  const mine = await ownRead;
  const afterOwn = Date.now() - started;
  const [theirs, writers, quiets] = await Promise.all([
    withinMs(othersRead, graceMs, others, silentRegions, (ms) => `did not answer within ${ms} ms of this region's member`),
    withinMs(writerRead, Math.max(writerWaitMs - afterOwn, graceMs), writer, silentRegions, () => `did not answer within ${Math.max(writerWaitMs, afterOwn + graceMs)} ms (the writer's member, in another region)`),
    withinMs(quietRead, 0, quiet, silentRegions, () => 'did not answer the previous read and has not answered yet (not waited for)'),
  ]);
  const parts = [mine, writers, theirs, quiets];
  return { endpoints: Object.assign({}, ...parts.map((part) => part.endpoints)) as MemberEndpointsResult['endpoints'], unreachable: parts.flatMap((part) => part.unreachable) };
}

const EMPTY: MemberEndpointsResult = { endpoints: {}, unreachable: [] };

/** Marks the regions that did not answer, clears the ones that did, whenever the read settles (even unobserved). */
function remember(work: Promise<MemberEndpointsResult>, silentRegions: Set<string> | undefined): Promise<MemberEndpointsResult> {
  if (!silentRegions) return work;
  return work.then((result) => {
    for (const member of result.unreachable) silentRegions.add(member.region);
    for (const arn of Object.keys(result.endpoints)) silentRegions.delete(regionOfArn(arn));
    return result;
  });
}

/**
 * `work`'s result, or every member of `list` unreachable when it has not settled `ms` from now (the work goes
 * on; its regions are marked silent until it answers).
 */
async function withinMs(work: Promise<MemberEndpointsResult>, ms: number, list: readonly MemberToRead[], silentRegions: Set<string> | undefined, why: (ms: number) => string): Promise<MemberEndpointsResult> {
  if (list.length === 0) return EMPTY;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<MemberEndpointsResult>((resolve) => {
    timer = setTimeout(
      () => {
        for (const member of list) silentRegions?.add(regionOfArn(member.arn));
        resolve({
          endpoints: {},
          unreachable: list.map((member): UnreachableMember => ({ dbClusterArn: member.arn, region: regionOfArn(member.arn), reason: `DescribeDBClusters in ${regionOfArn(member.arn)} ${why(ms)}` })),
        });
      },
      Math.max(0, ms),
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
