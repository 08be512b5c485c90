import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';

/** The prefix EKS's aws-iam-authenticator expects in front of the base64url-encoded presigned URL. */
export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
/** EKS rejects tokens whose presigned URL lives longer than this; the cluster accepts them for 15 minutes. */
export const EKS_TOKEN_EXPIRES_SECONDS = 60;
const CLUSTER_ID_HEADER = 'x-k8s-aws-id';

/** AWS credentials (structurally the SDK's AwsCredentialIdentity), or a provider of them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}
export type AwsCredentialsSource = AwsCredentials | (() => Promise<AwsCredentials>);

export interface EksTokenInput {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: AwsCredentialsSource;
  /** Signing time; defaults to now (tests pin it). */
  readonly now?: Date;
}

/**
 * A bearer token for the EKS API server, the same one `aws eks get-token` prints: a SigV4-presigned
 * STS GetCallerIdentity URL whose signature covers the `x-k8s-aws-id: <cluster>` header, so a token
 * minted for one cluster cannot be replayed against another.
 *
 * @example
 * const token = await createEksToken({ clusterName: 'app-use2', region: 'us-east-2', credentials });
 * // token === 'k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtZWFzdC0yLmFtYXpvbmF3cy5jb20v...'
 */
export async function createEksToken(input: EksTokenInput): Promise<string> {
  const hostname = `sts.${input.region}.amazonaws.com`;
  const signer = new SignatureV4({ credentials: input.credentials, region: input.region, service: 'sts', sha256: Sha256 });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: hostname, [CLUSTER_ID_HEADER]: input.clusterName },
  });
  const presigned = await signer.presign(request, {
    expiresIn: EKS_TOKEN_EXPIRES_SECONDS,
    signingDate: input.now ?? new Date(),
  });
  const url = `https://${hostname}/?${toQueryString(presigned.query)}`;
  return EKS_TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

function toQueryString(query: HttpRequest['query'] = {}): string {
  return Object.keys(query)
    .sort()
    .flatMap((key) => {
      const value = query[key];
      const values = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
      return values.map((item) => `${encodeURIComponent(key)}=${encodeURIComponent(item)}`);
    })
    .join('&');
}
