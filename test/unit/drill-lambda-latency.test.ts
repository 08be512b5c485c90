/**
 * The drill's Lambda latency (`--lambda-latency-ms`): every Lambda Task waits the latency before its handler
 * runs, with the input it was given; 0 changes nothing. The sleep is injected: what is checked is the order
 * of calls, not time.
 */
import { describe, expect, it } from 'vitest';
import { withLatency } from '../../lib/drill/local-step-functions.ts';

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
