import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EKSClient } from '@aws-sdk/client-eks';
import { GlobalAcceleratorClient } from '@aws-sdk/client-global-accelerator';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { InvalidInputError } from '../core/errors.ts';

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

interface ClientConfig {
  readonly region: string;
  readonly maxAttempts: number;
  readonly retryMode: 'standard';
  readonly requestHandler: { readonly connectionTimeout: number; readonly requestTimeout: number };
}

/**
 * Lazily created, cached AWS SDK clients, one per (service, region). Member clusters are always called
 * in their own region, so the same Lambda talks to several regions; a region that is down only fails
 * the calls aimed at it.
 *
 * @example
 * const clients = new AwsClients();
 * await clients.rds('us-west-2').send(new DescribeDBClustersCommand({ DBClusterIdentifier: arn }));
 */
export class AwsClients {
  readonly #config: (region: string) => ClientConfig;
  readonly #rds = new Map<string, RDSClient>();
  readonly #rdsOnce = new Map<string, RDSClient>();
  readonly #eks = new Map<string, EKSClient>();
  readonly #sfn = new Map<string, SFNClient>();
  readonly #cloudwatch = new Map<string, CloudWatchClient>();
  readonly #sns = new Map<string, SNSClient>();
  #globalAccelerator: GlobalAcceleratorClient | undefined;
  #route53: Route53Client | undefined;

  constructor(options: AwsClientOptions = {}) {
    const settings = { ...DEFAULT_AWS_CLIENT_OPTIONS, ...options };
    this.#config = (region) => ({
      region: assertRegion(region),
      maxAttempts: settings.maxAttempts,
      retryMode: 'standard',
      requestHandler: { connectionTimeout: settings.connectionTimeoutMs, requestTimeout: settings.requestTimeoutMs },
    });
  }

  rds(region: string): RDSClient {
    return cached(this.#rds, region, () => new RDSClient(this.#config(region)));
  }

  /**
   * An RDS client that makes exactly one attempt per call (no SDK retry), for calls that are not safe to
   * repeat blindly (SwitchoverGlobalCluster, FailoverGlobalCluster): a retried request whose first attempt
   * was accepted would meet a state fault. The caller decides what a repeat means.
   */
  rdsSingleAttempt(region: string): RDSClient {
    return cached(this.#rdsOnce, region, () => new RDSClient({ ...this.#config(region), maxAttempts: 1 }));
  }

  eks(region: string): EKSClient {
    return cached(this.#eks, region, () => new EKSClient(this.#config(region)));
  }

  sfn(region: string): SFNClient {
    return cached(this.#sfn, region, () => new SFNClient(this.#config(region)));
  }

  cloudwatch(region: string): CloudWatchClient {
    return cached(this.#cloudwatch, region, () => new CloudWatchClient(this.#config(region)));
  }

  sns(region: string): SNSClient {
    return cached(this.#sns, region, () => new SNSClient(this.#config(region)));
  }

  /** Pinned to us-west-2: the only region that serves the Global Accelerator API. */
  globalAccelerator(): GlobalAcceleratorClient {
    this.#globalAccelerator ??= new GlobalAcceleratorClient(this.#config(GLOBAL_ACCELERATOR_API_REGION));
    return this.#globalAccelerator;
  }

  /** Pinned to us-east-1: the Route 53 control plane. */
  route53(): Route53Client {
    this.#route53 ??= new Route53Client(this.#config(ROUTE53_API_REGION));
    return this.#route53;
  }
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
