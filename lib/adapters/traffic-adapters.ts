import type { Config } from '../core/config.ts';
import type { TrafficAdapter } from '../core/types.ts';
import type { AwsClientPool as AwsClients } from './aws-client-pool.ts';
import { GlobalAcceleratorTrafficAdapter } from './global-accelerator.ts';
import { Route53TrafficAdapter, type Route53AdapterOptions } from './route53.ts';

/** The traffic adapters the config asks for: Global Accelerator and/or Route 53, only when some region configures them. */
export function awsTrafficAdapters(clients: AwsClients, config: Config, options: Route53AdapterOptions = {}): TrafficAdapter[] {
  const candidates = [new GlobalAcceleratorTrafficAdapter(clients, config, options), new Route53TrafficAdapter(clients, config, options)];
  return candidates.filter((adapter) => adapter.configured);
}
