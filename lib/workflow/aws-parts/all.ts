/** Every part: the CLI's and the tests' AWS World. A Lambda imports only its own parts (functions/). */
import { cloudWatchPart } from './cloudwatch.ts';
import { eksPart } from './eks.ts';
import { peersPart } from './peers.ts';
import { rdsPart } from './rds.ts';
import { sfnPart } from './sfn.ts';
import { snsPart } from './sns.ts';
import { trafficPart } from './traffic.ts';
import type { AwsParts } from './types.ts';

export const allAwsParts = { rds: rdsPart, eks: eksPart, traffic: trafficPart, sns: snsPart, sfn: sfnPart, cloudwatch: cloudWatchPart, peers: peersPart } as const satisfies Required<AwsParts>;
