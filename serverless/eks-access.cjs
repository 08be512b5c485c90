'use strict';
/**
 * One EKS access entry per (EKS cluster of this region's pooler targets, role that talks to Kubernetes)
 * (`resources: - ${file(serverless/eks-access.cjs)}`), with the Kubernetes group of the role's grant:
 * `aurora-failover-operator` for the functions that patch, exec and evict, `aurora-failover-readonly`
 * for plan and preflight (serverless/function-roles.cjs KUBERNETES_GROUP_BY_GRANT). The RBAC manifests in
 * deploy/kubernetes bind those groups; EKS itself grants nothing else (no access policies).
 *
 * PrincipalArn is the role's Fn::GetAtt Arn: EKS ties an entry to the role's unique id, so a replaced role
 * gets a new entry (CloudFormation replaces the entry with the role) instead of a silently dead one.
 * The logical id hashes the cluster name, so reordering the config never replaces an entry in place
 * (a replacement with the same cluster and principal would collide with itself).
 *
 * Needs clusters in authentication mode API or API_AND_CONFIG_MAP.
 */
const { createHash } = require('node:crypto');
const { kubernetesGroupsByFunction, roleLogicalId } = require('./function-roles.cjs');

function accessEntryLogicalId(clusterName, roleId) {
  const readable = clusterName.replace(/[^A-Za-z0-9]/g, '').slice(0, 60);
  const hash = createHash('sha256').update(clusterName).digest('hex').slice(0, 8);
  return `EksAccess${readable}${hash}${roleId}`;
}

module.exports = async ({ resolveVariable }) => {
  const [service, stage, clusterNames] = await Promise.all([resolveVariable('self:service'), resolveVariable('sls:stage'), resolveVariable('failover:eksClusterNames')]);
  const Resources = {};
  for (const clusterName of clusterNames) {
    for (const [functionKey, group] of Object.entries(kubernetesGroupsByFunction())) {
      const roleId = roleLogicalId(functionKey);
      Resources[accessEntryLogicalId(clusterName, roleId)] = {
        Type: 'AWS::EKS::AccessEntry',
        Properties: {
          ClusterName: clusterName,
          PrincipalArn: { 'Fn::GetAtt': [roleId, 'Arn'] },
          Type: 'STANDARD',
          KubernetesGroups: [group],
          Tags: [{ Key: 'service', Value: `${service}-${stage}` }],
        },
      };
    }
  }
  return { Resources };
};
module.exports.accessEntryLogicalId = accessEntryLogicalId;
