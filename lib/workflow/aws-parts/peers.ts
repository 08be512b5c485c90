import { createLambdaPeers } from '../../adapters/lambda-peers.ts';
import type { PeersPart } from './types.ts';

/** The peer stacks, reached by a cross-region Lambda Invoke (its own LambdaClient per region, one attempt per call). */
export const peersPart: PeersPart = { clientClasses: {}, createPeers: createLambdaPeers };
