import { describe, expect, it } from 'vitest';
import { labelSelectorProblem, matchesLabels, parseLabelSelector } from '../../lib/core/label-selector.ts';

describe('label selectors of pooler targets', () => {
  it('parses equality and inequality terms', () => {
    // Act
    const terms = parseLabelSelector('app=pgbouncer,app.kubernetes.io/part-of==shop,track!=canary');

    // Assess
    expect(terms).toEqual([
      { key: 'app', operator: '=', value: 'pgbouncer' },
      { key: 'app.kubernetes.io/part-of', operator: '=', value: 'shop' },
      { key: 'track', operator: '!=', value: 'canary' },
    ]);
  });

  it('refuses a selector made only of != terms, which also matches other workloads', () => {
    // Act
    const problem = labelSelectorProblem('app!=web,tier!=frontend');

    // Assess
    expect(problem).toMatch(/has no key=value term: a selector made only of != terms also matches pods of other workloads/);
    expect(() => parseLabelSelector('app!=web')).toThrow(/has no key=value term/);
  });

  it('refuses set-based and empty selectors', () => {
    // Assess
    expect(labelSelectorProblem('app in (pgbouncer)')).toMatch(/not an equality-based label selector/);
    expect(labelSelectorProblem('')).toMatch(/not an equality-based label selector/);
    expect(labelSelectorProblem('app=pgbouncer')).toBeNull();
  });

  it('matches labels as the API server does: != is satisfied by a missing label', () => {
    // Prepare
    const terms = parseLabelSelector('app=pgbouncer,track!=canary');

    // Assess
    expect(matchesLabels(terms, { app: 'pgbouncer' })).toBe(true);
    expect(matchesLabels(terms, { app: 'pgbouncer', track: 'stable' })).toBe(true);
    expect(matchesLabels(terms, { app: 'pgbouncer', track: 'canary' })).toBe(false);
    expect(matchesLabels(terms, { app: 'web' })).toBe(false);
    expect(matchesLabels(terms, {})).toBe(false);
  });
});
