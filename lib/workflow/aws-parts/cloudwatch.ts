import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { readRpoLagMs } from '../../adapters/cloudwatch.ts';
import type { CloudWatchPart } from './types.ts';

export const cloudWatchPart: CloudWatchPart = { clientClasses: { cloudwatch: CloudWatchClient }, readRpoLagMs };
