import { SFNClient } from '@aws-sdk/client-sfn';
import { listRunningExecutions } from '../../adapters/lock.ts';
import type { SfnPart } from './types.ts';

export const sfnPart: SfnPart = { clientClasses: { sfn: SFNClient }, listRunningExecutions };
