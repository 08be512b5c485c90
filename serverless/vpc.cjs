'use strict';
/**
 * VpcConfig for the functions that reach this region's EKS clusters (`resources: - ${file(serverless/vpc.cjs)}`),
 * when the config names `regions.<region>.vpc`: an EKS API endpoint that is private is reachable only from
 * inside the VPC. Which functions: those whose grants reach Kubernetes (serverless/function-roles.cjs,
 * which also gives their roles the network interface permissions). The other functions call only public
 * AWS APIs and stay outside the VPC (no NAT or endpoint needed for them).
 *
 * Applied through `resources.extensions`, keyed by the functions' logical ids (handler functions/<key>.handler).
 */
const { functionsByHandlerKey } = require('./definitions.cjs');
const { kubernetesGroupsByFunction } = require('./function-roles.cjs');

module.exports = async ({ resolveVariable, resolveConfigurationProperty }) => {
  const [vpc, functions] = await Promise.all([resolveVariable('failover:vpc'), resolveConfigurationProperty(['functions'])]);
  if (vpc.subnetIds.length === 0) return {};
  const inVpc = kubernetesGroupsByFunction();
  const extensions = {};
  for (const [functionKey, { logicalId }] of functionsByHandlerKey(functions)) {
    if (!(functionKey in inVpc)) continue;
    extensions[logicalId] = { Properties: { VpcConfig: { SubnetIds: vpc.subnetIds, SecurityGroupIds: vpc.securityGroupIds } } };
  }
  return { extensions };
};
