import { describe, expect, it } from 'vitest';
import { toFailoverError } from '../../lib/adapters/aws-errors.ts';
import { isTransient, ServiceUnavailableError, StaleChangeError, ThrottledError, UpstreamError, UpstreamTimeoutError } from '../../lib/core/errors.ts';
import { sdkError } from './aws-fixtures.ts';

const WHAT = 'rds:DescribeGlobalClusters app-global in us-east-2';

describe('toFailoverError', () => {
  it.each([
    ['ThrottlingException', 400],
    ['TooManyRequestsException', 400],
    ['Throttling', 400],
    ['PriorRequestNotComplete', 400],
    ['TransactionInProgressException', 400],
    ['KMSThrottlingException', 400],
    ['SomethingElse', 429],
  ])('%s (HTTP %i) is ThrottledError, transient', (name, status) => {
    const mapped = toFailoverError(sdkError(name, { status }), WHAT);

    expect(mapped).toBeInstanceOf(ThrottledError);
    expect(isTransient(mapped)).toBe(true);
    expect(mapped.message).toContain(WHAT);
    expect(mapped.message).toContain(name);
  });

  it('a throttling $retryable hint is ThrottledError', () => {
    expect(toFailoverError(sdkError('Weird', { status: 400, retryable: { throttling: true } }), WHAT)).toBeInstanceOf(ThrottledError);
  });

  it.each([
    ['InternalFailure', 500],
    ['ServiceUnavailable', 503],
    ['InternalServiceErrorException', 500],
  ])('%s (HTTP %i) is ServiceUnavailableError, transient', (name, status) => {
    const mapped = toFailoverError(sdkError(name, { status }), WHAT);

    expect(mapped).toBeInstanceOf(ServiceUnavailableError);
    expect(isTransient(mapped)).toBe(true);
  });

  it.each([
    ['ECONNRESET', 'read ECONNRESET'],
    ['ETIMEDOUT', 'connect ETIMEDOUT 52.94.0.1:443'],
    ['ECONNREFUSED', 'connect ECONNREFUSED'],
  ])('a network error with code %s is ServiceUnavailableError', (code, message) => {
    const error = Object.assign(new Error(message), { code });

    expect(toFailoverError(error, WHAT)).toBeInstanceOf(ServiceUnavailableError);
  });

  it('"socket hang up" and a $retryable error are ServiceUnavailableError', () => {
    expect(toFailoverError(new Error('socket hang up'), WHAT)).toBeInstanceOf(ServiceUnavailableError);
    expect(toFailoverError(sdkError('Odd', { status: 400, retryable: {} }), WHAT)).toBeInstanceOf(ServiceUnavailableError);
  });

  it.each(['TimeoutError', 'AbortError'])('%s is UpstreamTimeoutError', (name) => {
    const error = Object.assign(new Error('Connection timed out after 3000 ms'), { name });

    const mapped = toFailoverError(error, WHAT);

    expect(mapped).toBeInstanceOf(UpstreamTimeoutError);
    expect(mapped.message).toContain(name);
  });

  it('a client error is a fatal UpstreamError naming the call and the SDK error, keeping the cause', () => {
    const original = sdkError('InvalidGlobalClusterStateFault', { status: 400, message: 'The global cluster is not in a valid state' });

    const mapped = toFailoverError(original, WHAT);

    expect(mapped).toBeInstanceOf(UpstreamError);
    expect(isTransient(mapped)).toBe(false);
    expect(mapped.message).toBe(`${WHAT} failed: InvalidGlobalClusterStateFault: The global cluster is not in a valid state`);
    expect(mapped.cause).toBe(original);
  });

  it('never repeats credentials that an SDK message might contain', () => {
    const message =
      'The request signature we calculated does not match. AWSAccessKeyId AKIAIOSFODNN7EXAMPLE, X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F and secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

    const mapped = toFailoverError(sdkError('SignatureDoesNotMatch', { status: 403, message }), WHAT);

    expect(mapped.message).toContain('SignatureDoesNotMatch');
    expect(mapped.message).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(mapped.message).not.toContain('IQoJb3JpZ2luX2VjEJr');
    expect(mapped.message).not.toContain('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
    expect(mapped.message).toContain('[redacted]');
  });

  it('passes the project\'s own errors through unchanged', () => {
    const stale = new StaleChangeError('dial moved');

    expect(toFailoverError(stale, WHAT)).toBe(stale);
  });

  it('maps something that is not an Error to UpstreamError', () => {
    const mapped = toFailoverError('boom', WHAT);

    expect(mapped).toBeInstanceOf(UpstreamError);
    expect(mapped.message).toContain('boom');
  });
});
