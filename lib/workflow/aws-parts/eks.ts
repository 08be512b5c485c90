import { EKSClient } from '@aws-sdk/client-eks';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialsSource } from '../../adapters/eks-token.ts';
import { connectEksPoolerTarget } from '../../adapters/pooler-eks.ts';
import type { EksPart } from './types.ts';

let credentials: AwsCredentialsSource | undefined;

export const eksPart: EksPart = {
  clientClasses: { eks: EKSClient },
  connectPooler: (clients, target, region) => {
    credentials ??= defaultProvider();
    return connectEksPoolerTarget({ target, region, eks: clients.eks(region), credentials });
  },
};
