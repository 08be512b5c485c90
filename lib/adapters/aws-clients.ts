import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EKSClient } from '@aws-sdk/client-eks';
import { GlobalAcceleratorClient } from '@aws-sdk/client-global-accelerator';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { AwsClientPool, type AwsClientOptions, type ClientClasses } from './aws-client-pool.ts';

export { DEFAULT_AWS_CLIENT_OPTIONS, GLOBAL_ACCELERATOR_API_REGION, ROUTE53_API_REGION, type AwsClientOptions } from './aws-client-pool.ts';

const ALL_CLIENT_CLASSES: ClientClasses = {
  rds: RDSClient,
  eks: EKSClient,
  sfn: SFNClient,
  cloudwatch: CloudWatchClient,
  sns: SNSClient,
  globalAccelerator: GlobalAcceleratorClient,
  route53: Route53Client,
};

/**
 * Every AWS SDK client this service uses, one per (service, region), created lazily: for the CLI and
 * tests. A Lambda builds an AwsClientPool with only its step's clients (lib/workflow/aws-parts/), so its
 * bundle carries no other SDK.
 *
 * @example
 * const clients = new AwsClients();
 * await clients.rds('us-west-2').send(new DescribeDBClustersCommand({ DBClusterIdentifier: arn }));
 */
export class AwsClients extends AwsClientPool {
  constructor(options: AwsClientOptions = {}) {
    super(ALL_CLIENT_CLASSES, options);
  }
}
