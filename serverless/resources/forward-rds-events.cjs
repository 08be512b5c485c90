'use strict';
/**
 * Forwards the RDS global-failover events that start a reconcile (RDS-EVENT-0185 switchover finished,
 * RDS-EVENT-0238 failover completed) from this region's default bus to every configured peer region's
 * default bus (`resources: - ${file(serverless/resources/forward-rds-events.cjs)}`). RDS raises each event in
 * one member's region only (which one is undocumented); forwarded, every region's intake sees it within
 * seconds. The pattern matches only events whose `region` is this stack's own region, so an event another
 * region forwarded here is not forwarded again. Duplicates are harmless: the intake's execution names are
 * deterministic. The role may put events on exactly those peer buses. No peers: no resources.
 */

const FORWARDED_EVENT_IDS = ['RDS-EVENT-0185', 'RDS-EVENT-0238'];

function peerBusArn(peer) {
  return { 'Fn::Sub': `arn:\${AWS::Partition}:events:${peer}:\${AWS::AccountId}:event-bus/default` };
}

module.exports = async ({ resolveVariable }) => {
  const [service, stage, region, peerRegions] = await Promise.all([
    resolveVariable('self:service'),
    resolveVariable('sls:stage'),
    resolveVariable('self:provider.region'),
    resolveVariable('failover:peerRegions'),
  ]);
  if (peerRegions.length === 0) return { Resources: {} };
  const prefix = `${service}-${stage}`;
  return {
    Resources: {
      ForwardRdsEventsRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          Description: `${prefix}: EventBridge puts forwarded RDS global-failover events on the peer regions' default buses`,
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          },
          Policies: [
            {
              PolicyName: 'forward-rds-events',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [{ Sid: 'PutOnPeerBuses', Effect: 'Allow', Action: ['events:PutEvents'], Resource: peerRegions.map(peerBusArn) }],
              },
            },
          ],
        },
      },
      ForwardRdsEventsRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          Description: `${prefix}: forward RDS global-failover events raised in ${region} to ${peerRegions.join(', ')}`,
          EventBusName: 'default',
          State: 'ENABLED',
          EventPattern: {
            source: ['aws.rds'],
            'detail-type': ['RDS DB Cluster Event'],
            // Only events raised here: one forwarded from a peer keeps its own region and is not sent back.
            region: [region],
            detail: { EventID: FORWARDED_EVENT_IDS },
          },
          Targets: peerRegions.map((peer) => ({
            Id: `forward-${peer}`,
            Arn: peerBusArn(peer),
            RoleArn: { 'Fn::GetAtt': ['ForwardRdsEventsRole', 'Arn'] },
          })),
        },
      },
    },
  };
};
module.exports.FORWARDED_EVENT_IDS = FORWARDED_EVENT_IDS;
