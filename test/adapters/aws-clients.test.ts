import { describe, expect, it } from 'vitest';
import { AwsClients, GLOBAL_ACCELERATOR_API_REGION, ROUTE53_API_REGION } from '../../lib/adapters/aws-clients.ts';
import { InvalidInputError } from '../../lib/core/errors.ts';

describe('AwsClients', () => {
  it('creates one client per service and region, lazily, and reuses it', async () => {
    // Prepare
    const clients = new AwsClients();

    // Act
    const east = clients.rds('us-east-2');
    const west = clients.rds('us-west-2');

    // Assess
    expect(clients.rds('us-east-2')).toBe(east);
    expect(west).not.toBe(east);
    expect(await east.config.region()).toBe('us-east-2');
    expect(await west.config.region()).toBe('us-west-2');
    expect(await clients.sfn('eu-west-1').config.region()).toBe('eu-west-1');
    expect(await clients.cloudwatch('us-west-2').config.region()).toBe('us-west-2');
    expect(await clients.sns('us-east-2').config.region()).toBe('us-east-2');
    expect(await clients.eks('us-east-2').config.region()).toBe('us-east-2');
  });

  it('pins Global Accelerator to us-west-2 and Route 53 to us-east-1', async () => {
    const clients = new AwsClients();

    expect(GLOBAL_ACCELERATOR_API_REGION).toBe('us-west-2');
    expect(ROUTE53_API_REGION).toBe('us-east-1');
    expect(await clients.globalAccelerator().config.region()).toBe('us-west-2');
    expect(await clients.route53().config.region()).toBe('us-east-1');
    expect(clients.globalAccelerator()).toBe(clients.globalAccelerator());
  });

  it('uses the standard retry mode with a small number of attempts (the state machine retries outside)', async () => {
    const clients = new AwsClients({ maxAttempts: 3 });

    const client = clients.rds('us-east-2');

    expect(await client.config.maxAttempts()).toBe(3);
    expect(await new AwsClients().rds('us-east-2').config.maxAttempts()).toBe(2);
  });

  it('has a one-attempt RDS client per region for calls that are not safe to repeat blindly', async () => {
    const clients = new AwsClients();

    const once = clients.rdsSingleAttempt('us-west-2');

    expect(await once.config.maxAttempts()).toBe(1);
    expect(await once.config.region()).toBe('us-west-2');
    expect(clients.rdsSingleAttempt('us-west-2')).toBe(once);
    expect(clients.rds('us-west-2')).not.toBe(once);
    expect(await clients.rds('us-west-2').config.maxAttempts()).toBe(2);
  });

  it('bounds connection and request time on the HTTP handler', async () => {
    const clients = new AwsClients({ connectionTimeoutMs: 1_234, requestTimeoutMs: 5_678 });

    const handler = clients.rds('us-east-2').config.requestHandler as unknown as { configProvider: Promise<{ connectionTimeout?: number; requestTimeout?: number }> };
    const resolved = await handler.configProvider;

    expect(resolved.connectionTimeout).toBe(1_234);
    expect(resolved.requestTimeout).toBe(5_678);
  });

  it('refuses a region name that is not one', () => {
    const clients = new AwsClients();

    expect(() => clients.rds('us-east-2\nHost: evil')).toThrow(InvalidInputError);
    expect(() => clients.sfn('')).toThrow(/not an AWS region name/);
  });
});
