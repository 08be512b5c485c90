/**
 * Every Lambda Task in both state machines retries the Lambda service exceptions that AWS names as
 * transient (Step Functions guide, "Handle Lambda service exceptions"): ClientExecutionTimeoutException,
 * ServiceException, AWSLambdaException, SdkClientException, plus TooManyRequestsException (throttling).
 * The one exception is an optional Task: PrefetchPreflight (the switchover's early reads), which must never
 * hold the run: no Retry, a short TimeoutSeconds, and every error caught into a Pass that skips it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const LAMBDA_SERVICE_EXCEPTIONS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Retry?: ReadonlyArray<{ readonly ErrorEquals: readonly string[] }>;
  readonly Branches?: ReadonlyArray<{ readonly States: Record<string, AslState> }>;
  readonly ItemProcessor?: { readonly States: Record<string, AslState> };
  readonly Iterator?: { readonly States: Record<string, AslState> };
}

function lambdaTasks(states: Record<string, AslState>): Array<[string, AslState]> {
  return Object.entries(states).flatMap(([name, state]): Array<[string, AslState]> => {
    const nested = [...(state.Branches ?? []).map((branch) => branch.States), state.ItemProcessor?.States, state.Iterator?.States].filter((item) => item !== undefined);
    const own: Array<[string, AslState]> = state.Type === 'Task' && state.Resource?.includes(':lambda:') ? [[name, state]] : [];
    return [...own, ...nested.flatMap((inner) => lambdaTasks(inner))];
  });
}

/** Tasks whose failure only skips them (Preflight then reads everything itself). */
const OPTIONAL_TASKS = ['PrefetchPreflight'];

describe('switchover PrefetchPreflight (optional)', () => {
  const definition = JSON.parse(readFileSync(new URL('../../statemachines/switchover.asl.json', import.meta.url), 'utf8')) as { States: Record<string, AslState> };
  const branches = definition.States.SettleWhilePrefetching?.Branches ?? [];
  const branch = branches.find((candidate) => 'PrefetchPreflight' in candidate.States)?.States ?? {};
  const task = branch.PrefetchPreflight as AslState & { TimeoutSeconds?: number; Catch?: ReadonlyArray<{ ErrorEquals: readonly string[]; Next: string }> };

  it('is never retried, gives up within 15 s (well under its function\'s timeout), and skips on any error', () => {
    expect(task.Retry).toBeUndefined();
    expect(task.TimeoutSeconds).toBeLessThanOrEqual(15);
    expect(task.Catch).toEqual([{ ErrorEquals: ['States.ALL'], Next: 'PrefetchSkipped' }]);
    expect(branch.PrefetchSkipped?.Type).toBe('Pass');
  });
});

describe.each(['reconcile', 'switchover'])('statemachines/%s.asl.json', (name) => {
  const definition = JSON.parse(readFileSync(new URL(`../../statemachines/${name}.asl.json`, import.meta.url), 'utf8')) as { States: Record<string, AslState> };
  const tasks = lambdaTasks(definition.States).filter(([task]) => !OPTIONAL_TASKS.includes(task));

  it('has Lambda tasks to check', () => {
    expect(tasks.length).toBeGreaterThan(3);
  });

  it.each(tasks.map(([task]) => task))('%s retries every Lambda service exception', (task) => {
    // Prepare
    const state = tasks.find(([candidate]) => candidate === task)![1];

    // Act
    const retried = new Set((state.Retry ?? []).flatMap((rule) => rule.ErrorEquals));

    // Assess
    expect(LAMBDA_SERVICE_EXCEPTIONS.filter((error) => !retried.has(error))).toEqual([]);
  });
});
