import { GlobalAcceleratorClient } from '@aws-sdk/client-global-accelerator';
import { Route53Client } from '@aws-sdk/client-route-53';
import { awsTrafficAdapters } from '../../adapters/traffic-adapters.ts';
import type { TrafficPart } from './types.ts';

export const trafficPart: TrafficPart = { clientClasses: { globalAccelerator: GlobalAcceleratorClient, route53: Route53Client }, trafficAdapters: awsTrafficAdapters };
