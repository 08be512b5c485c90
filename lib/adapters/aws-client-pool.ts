import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { EKSClient } from '@aws-sdk/client-eks';
import type { GlobalAcceleratorClient } from '@aws-sdk/client-global-accelerator';
import type { RDSClient } from '@aws-sdk/client-rds';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';
import { InvalidConfigError, InvalidInputError } from '../core/errors.ts';

/** The Global Accelerator API is served from us-west-2 only, whatever region the accelerator serves. */
export const GLOBAL_ACCELERATOR_API_REGION = 'us-west-2';
/** The Route 53 control plane (ChangeResourceRecordSets, GetChange) lives in us-east-1. */
export const ROUTE53_API_REGION = 'us-east-1';

const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

export interface AwsClientOptions {
  /** TCP connect bound; a region that is down must fail fast, not hang the Lambda. */
  readonly connectionTimeoutMs?: number;
  /** Whole-request bound (socket idle time) for one attempt. */
  readonly requestTimeoutMs?: number;
  /** SDK standard retry attempts per call (the state machine does the outer retries with backoff). */
  readonly maxAttempts?: number;
}

export const DEFAULT_AWS_CLIENT_OPTIONS = { connectionTimeoutMs: 3_000, requestTimeoutMs: 10_000, maxAttempts: 2 } as const;

/**
 * How long one call to a region whose endpoints do not answer (a dead region: TCP connects time out, nothing
 * refuses) takes before the SDK gives up with a TimeoutError: every attempt waits the whole connect timeout.
 * The drill's dead regions fail after exactly this long (lib/drill/local-world.ts); the SDK's backoff between
 * attempts (~0.1 s) comes on top.
 */
export const AWS_DEAD_REGION_CALL_MS = DEFAULT_AWS_CLIENT_OPTIONS.connectionTimeoutMs * DEFAULT_AWS_CLIENT_OPTIONS.maxAttempts;

/**
 * The same for a peer stack's Invoke (lib/adapters/lambda-peers.ts), which makes one attempt per call (the
 * state machine retries): its connect timeout, the one bound on a call into a dead region.
 */
export const PEER_INVOKE_DEAD_REGION_MS = DEFAULT_AWS_CLIENT_OPTIONS.connectionTimeoutMs;

export interface ClientConfig {
  readonly region: string;
  readonly maxAttempts: number;
  readonly retryMode: 'standard';
  readonly requestHandler: { readonly connectionTimeout: number; readonly requestTimeout: number };
}

/** The SDK client classes a pool may create. A Lambda bundles only the ones its step calls (lib/workflow/aws-parts/). */
export interface ClientClasses {
  readonly rds: new (config: ClientConfig) => RDSClient;
  readonly eks: new (config: ClientConfig) => EKSClient;
  readonly sfn: new (config: ClientConfig) => SFNClient;
  readonly cloudwatch: new (config: ClientConfig) => CloudWatchClient;
  readonly sns: new (config: ClientConfig) => SNSClient;
  readonly globalAccelerator: new (config: ClientConfig) => GlobalAcceleratorClient;
  readonly route53: new (config: ClientConfig) => Route53Client;
}

/**
 * Lazily created, cached AWS SDK clients, one per (service, region). Member clusters are always called
 * in their own region, so the same Lambda talks to several regions; a region that is down only fails
 * the calls aimed at it.
 *
 * @example
 * const clients = new AwsClientPool({ rds: RDSClient });
 * await clients.rds('us-west-2').send(new DescribeDBClustersCommand({ DBClusterIdentifier: arn }));
 */
export class AwsClientPool {
  readonly #classes: Partial<ClientClasses>;
  readonly #config: (region: string) => ClientConfig;
  readonly #rds = new Map<string, RDSClient>();
  readonly #rdsOnce = new Map<string, RDSClient>();
  readonly #eks = new Map<string, EKSClient>();
  readonly #sfn = new Map<string, SFNClient>();
  readonly #cloudwatch = new Map<string, CloudWatchClient>();
  readonly #sns = new Map<string, SNSClient>();
  #globalAccelerator: GlobalAcceleratorClient | undefined;
  #route53: Route53Client | undefined;

  constructor(classes: Partial<ClientClasses>, options: AwsClientOptions = {}) {
    this.#classes = classes;
    const settings = { ...DEFAULT_AWS_CLIENT_OPTIONS, ...options };
    this.#config = (region) => ({
      region: assertRegion(region),
      maxAttempts: settings.maxAttempts,
      retryMode: 'standard',
      requestHandler: { connectionTimeout: settings.connectionTimeoutMs, requestTimeout: settings.requestTimeoutMs },
    });
  }

  #class<K extends keyof ClientClasses>(service: K): ClientClasses[K] {
    return this.#classes[service] ?? missingClass(service);
  }

  rds(region: string): RDSClient {
    return cached(this.#rds, region, () => new (this.#class('rds'))(this.#config(region)));
  }

  /**
   * An RDS client that makes exactly one attempt per call (no SDK retry), for calls that are not safe to
   * repeat blindly (SwitchoverGlobalCluster, FailoverGlobalCluster): a retried request whose first attempt
   * was accepted would meet a state fault. The caller decides what a repeat means.
   */
  rdsSingleAttempt(region: string): RDSClient {
    return cached(this.#rdsOnce, region, () => new (this.#class('rds'))({ ...this.#config(region), maxAttempts: 1 }));
  }

  eks(region: string): EKSClient {
    return cached(this.#eks, region, () => new (this.#class('eks'))(this.#config(region)));
  }

  sfn(region: string): SFNClient {
    return cached(this.#sfn, region, () => new (this.#class('sfn'))(this.#config(region)));
  }

  cloudwatch(region: string): CloudWatchClient {
    return cached(this.#cloudwatch, region, () => new (this.#class('cloudwatch'))(this.#config(region)));
  }

  sns(region: string): SNSClient {
    return cached(this.#sns, region, () => new (this.#class('sns'))(this.#config(region)));
  }

  /** Pinned to us-west-2: the only region that serves the Global Accelerator API. */
  globalAccelerator(): GlobalAcceleratorClient {
    this.#globalAccelerator ??= new (this.#class('globalAccelerator'))(this.#config(GLOBAL_ACCELERATOR_API_REGION));
    return this.#globalAccelerator;
  }

  /** Pinned to us-east-1: the Route 53 control plane. */
  route53(): Route53Client {
    this.#route53 ??= new (this.#class('route53'))(this.#config(ROUTE53_API_REGION));
    return this.#route53;
  }
}

/** Named fatal error: a step called a service its function was not packaged with (see functions/<key>.ts). */
function missingClass(service: string): never {
  throw new InvalidConfigError(`the ${service} client is not part of this function's bundle: add its part in functions/ (lib/workflow/aws-parts/)`);
}

function cached<T>(clients: Map<string, T>, region: string, create: () => T): T {
  let client = clients.get(region);
  if (!client) {
    client = create();
    clients.set(region, client);
  }
  return client;
}

function assertRegion(region: string): string {
  if (!AWS_REGION.test(region)) throw new InvalidInputError(`not an AWS region name: ${JSON.stringify(region).slice(0, 40)}`);
  return region;
}
