/**
 * The drill's Lambda latency (`--lambda-latency-ms`): every Lambda Task waits the latency before its handler
 * runs, with the input it was given; 0 changes nothing. The sleep is injected: what is checked is the order
 * of calls, not time.
 */
import { describe, expect, it, vi } from 'vitest';
import { LocalStepFunctions, withLatency } from '../../lib/drill/local-step-functions.ts';
import { silentLogger } from '../../lib/workflow/step-handler.ts';
import { twoRegionStage } from '../support/two-region-stage.ts';

describe('withLatency', () => {
  it('sleeps the latency before each handler runs, then passes the input and the result through', async () => {
    // Prepare
    const events: string[] = [];
    const sleep = async (ms: number) => void events.push(`sleep ${ms}`);
    const handlers = {
      Preflight: async (input: never) => (events.push(`Preflight ${JSON.stringify(input)}`), 'preflight done'),
      CheckSwitch: async (input: never) => (events.push(`CheckSwitch ${JSON.stringify(input)}`), 'check done'),
    };

    // Act
    const delayed = withLatency(handlers, 250, sleep);
    const results = [await delayed.Preflight!({ a: 1 } as never), await delayed.CheckSwitch!({ b: 2 } as never)];

    // Assess
    expect(results).toEqual(['preflight done', 'check done']);
    expect(events).toEqual(['sleep 250', 'Preflight {"a":1}', 'sleep 250', 'CheckSwitch {"b":2}']);
  });

  it('adds nothing at 0 ms', async () => {
    const events: string[] = [];
    const delayed = withLatency({ Plan: async (_input: never) => (events.push('Plan'), 'ok') }, 0, async () => void events.push('sleep'));

    expect(await delayed.Plan!(undefined as never)).toBe('ok');
    expect(events).toEqual(['Plan']);
  });
});

describe('the drill\'s Step Functions with a Lambda latency', () => {
  it('starts every Lambda Task late, the early reads inside the switchover\'s Parallel included, and no service integration', async () => {
    // Prepare
    vi.useFakeTimers();
    try {
      const stepFunctions = await LocalStepFunctions.load(new URL('../../statemachines/', import.meta.url), silentLogger, {}, 300);
      const { world } = twoRegionStage({ writer: 'us-west-2', replica: 'us-east-1' });
      const nested = vi.fn(async () => ({ Status: 'SUCCEEDED' }));

      // Act
      const tasks = stepFunctions.tasksFor('switchover', world, { RunReconcile: nested });
      const prefetch = tasks.PrefetchPreflight!({ phase: 'prefetch', input: { not: 'a switchover input' } });
      const settled = vi.fn();
      prefetch.then(settled, settled);
      await vi.advanceTimersByTimeAsync(299);
      const before = settled.mock.calls.length;
      await vi.advanceTimersByTimeAsync(1);

      // Assess: the step ran (and refused the input) only once the latency had passed
      expect(Object.keys(tasks)).toEqual(expect.arrayContaining(['PrefetchPreflight', 'Preflight', 'CheckSwitch', 'RunReconcile']));
      expect(before).toBe(0);
      await expect(prefetch).rejects.toMatchObject({ name: 'InvalidInputError' });
      expect(tasks.RunReconcile).toBe(nested);
    } finally {
      vi.useRealTimers();
    }
  });
});
