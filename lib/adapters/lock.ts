import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { decideRunLock, type RunLockInput, type RunLockVerdict, type RunningExecution } from '../core/run-lock.ts';
import { UpstreamError } from '../core/errors.ts';
import type { AwsClientPool as AwsClients } from './aws-client-pool.ts';
import { toFailoverError } from './aws-errors.ts';

// ListExecutions pages hold up to 1000 items; RUNNING executions of one stack are a handful.
const PAGE_SIZE = 100;
const MAX_PAGES = 20;

/**
 * The RUNNING executions of the given state machines (reconcile, switchover) in `region`, via
 * ListExecutions with statusFilter RUNNING, all pages. ListExecutions is eventually consistent: call it
 * after a short settle wait so that runs started together see each other (see docs/aws.md).
 */
export async function listRunningExecutions(clients: AwsClients, region: string, stateMachineArns: readonly string[]): Promise<RunningExecution[]> {
  const perMachine = await Promise.all(stateMachineArns.map((arn) => listRunning(clients, region, arn)));
  return perMachine.flat();
}

async function listRunning(clients: AwsClients, region: string, stateMachineArn: string): Promise<RunningExecution[]> {
  const running: RunningExecution[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    let response;
    try {
      response = await clients.sfn(region).send(
        new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: PAGE_SIZE, ...(nextToken ? { nextToken } : {}) }),
      );
    } catch (error) {
      throw toFailoverError(error, `states:ListExecutions ${stateMachineArn} in ${region}`);
    }
    for (const item of response.executions ?? []) {
      if (!item.executionArn || !item.startDate || (item.status && item.status !== 'RUNNING')) continue;
      running.push({
        executionArn: item.executionArn,
        startedAtMs: item.startDate.getTime(),
        ...(item.name ? { name: item.name } : {}),
        ...(item.stateMachineArn ? { stateMachineArn: item.stateMachineArn } : {}),
      });
    }
    nextToken = response.nextToken;
    if (!nextToken) return running;
  }
  throw new UpstreamError(`states:ListExecutions ${stateMachineArn} in ${region} did not end within ${MAX_PAGES} pages`);
}

/** Lists the RUNNING executions and decides proceed / wait / exit for the caller. */
export async function checkRunLock(
  clients: AwsClients,
  region: string,
  stateMachineArns: readonly string[],
  request: Omit<RunLockInput, 'running'>,
): Promise<RunLockVerdict> {
  const running = await listRunningExecutions(clients, region, stateMachineArns);
  return decideRunLock({ ...request, running });
}
