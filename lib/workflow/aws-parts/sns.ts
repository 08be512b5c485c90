import { SNSClient } from '@aws-sdk/client-sns';
import { publishSummary } from '../../adapters/notify.ts';
import type { SnsPart } from './types.ts';

export const snsPart: SnsPart = { clientClasses: { sns: SNSClient }, publishSummary };
