import { RDSClient } from '@aws-sdk/client-rds';
import { describeGlobalCluster, describeMemberEndpoints, failoverGlobalCluster, switchoverGlobalCluster } from '../../adapters/rds.ts';
import type { RdsPart } from './types.ts';

export const rdsPart: RdsPart = { clientClasses: { rds: RDSClient }, describeGlobalCluster, describeMemberEndpoints, switchoverGlobalCluster, failoverGlobalCluster };
