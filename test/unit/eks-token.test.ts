import { describe, expect, it } from 'vitest';
import { createEksToken, EKS_TOKEN_PREFIX } from '../../lib/adapters/eks-token.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const now = new Date('2025-03-04T05:06:07Z');

function decode(token: string): URL {
  return new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
}

describe('createEksToken', () => {
  it('is k8s-aws-v1. followed by unpadded base64url of a presigned STS GetCallerIdentity URL', async () => {
    // Act
    const token = await createEksToken({ clusterName: 'app-use2', region: 'us-east-2', credentials, now });

    // Assess
    expect(token.startsWith('k8s-aws-v1.')).toBe(true);
    expect(token.slice(EKS_TOKEN_PREFIX.length)).toMatch(/^[A-Za-z0-9_-]+$/);
    const url = decode(token);
    expect(url.origin).toBe('https://sts.us-east-2.amazonaws.com');
    expect(url.pathname).toBe('/');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('Version')).toBe('2011-06-15');
  });

  it('signs the x-k8s-aws-id header, expires in 60 s, and scopes the credential to the region and sts', async () => {
    // Act
    const url = decode(await createEksToken({ clusterName: 'app-use2', region: 'us-east-2', credentials, now }));

    // Assess
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual(['host', 'x-k8s-aws-id']);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20250304T050607Z');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20250304/us-east-2/sts/aws4_request');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // The cluster name travels as a signed header, not in the URL.
    expect(url.searchParams.has('x-k8s-aws-id')).toBe(false);
  });

  it('binds the signature to the cluster name, and carries a session token when there is one', async () => {
    // Act
    const first = decode(await createEksToken({ clusterName: 'app-use2', region: 'us-east-2', credentials, now }));
    const other = decode(await createEksToken({ clusterName: 'app-usw2', region: 'us-east-2', credentials, now }));
    const session = decode(
      await createEksToken({ clusterName: 'app-use2', region: 'us-east-2', credentials: async () => ({ ...credentials, sessionToken: 'SESSION/TOKEN+1' }), now }),
    );

    // Assess
    expect(first.searchParams.get('X-Amz-Signature')).not.toBe(other.searchParams.get('X-Amz-Signature'));
    expect(session.searchParams.get('X-Amz-Security-Token')).toBe('SESSION/TOKEN+1');
  });
});
