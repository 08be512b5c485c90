import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { UpstreamError } from '../core/errors.ts';
import { toFailoverError } from './aws-errors.ts';

export interface EksClusterAccess {
  /** The API server URL, `https://...eks.amazonaws.com`. */
  readonly endpoint: string;
  /** The cluster CA in PEM: the only CA the Kubernetes client trusts for this cluster. */
  readonly certificateAuthority: string;
}

/**
 * The API server endpoint and CA of one EKS cluster (DescribeCluster). Refuses a cluster that has no
 * endpoint or CA yet (still creating) rather than connecting without verification.
 */
export async function describeEksCluster(eks: EKSClient, name: string): Promise<EksClusterAccess> {
  let cluster;
  try {
    cluster = (await eks.send(new DescribeClusterCommand({ name }))).cluster;
  } catch (error) {
    throw toFailoverError(error, `eks:DescribeCluster ${name}`);
  }
  const endpoint = cluster?.endpoint;
  const caData = cluster?.certificateAuthority?.data;
  if (!endpoint || !endpoint.startsWith('https://')) {
    throw new UpstreamError(`EKS cluster ${name} has no https API endpoint (status ${cluster?.status ?? 'unknown'})`);
  }
  if (!caData) {
    throw new UpstreamError(`EKS cluster ${name} reports no certificate authority (status ${cluster?.status ?? 'unknown'})`);
  }
  const certificateAuthority = Buffer.from(caData, 'base64').toString('utf8');
  if (!certificateAuthority.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UpstreamError(`EKS cluster ${name} certificate authority is not a PEM certificate`);
  }
  return { endpoint, certificateAuthority };
}

