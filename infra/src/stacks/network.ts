import { RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { MetavecConfig, prefix } from '../config';

export interface NetworkStackProps extends StackProps {
  config: MetavecConfig;
}

/**
 * VPC with private subnets (one NAT gateway for image pulls and AWS APIs), an S3 gateway endpoint (shard
 * traffic never crosses the NAT), flow logs, a cluster placement group and an EFA-capable security group
 * (EFA needs all traffic allowed to and from the group itself).
 */
export class NetworkStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly efaSecurityGroup: ec2.SecurityGroup;
  readonly placementGroup: ec2.PlacementGroup;
  /** The one private subnet the tightly coupled HPC nodes, FSx and the placement group share. */
  readonly hpcSubnet: ec2.ISubnet;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    const c = props.config;
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(c.vpcCidr),
      maxAzs: c.maxAzs,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    this.efaSecurityGroup = new ec2.SecurityGroup(this, 'EfaSecurityGroup', {
      vpc: this.vpc,
      description: 'EFA-capable: all traffic within the group (EFA, MPI, Slurm, Lustre)',
      allowAllOutbound: false,
    });
    this.efaSecurityGroup.addIngressRule(this.efaSecurityGroup, ec2.Port.allTraffic(), 'EFA/MPI/Slurm within the group');
    this.efaSecurityGroup.addEgressRule(this.efaSecurityGroup, ec2.Port.allTraffic(), 'EFA/MPI/Slurm within the group');
    this.efaSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs, S3, ECR');

    this.placementGroup = new ec2.PlacementGroup(this, 'ClusterPlacement', {
      placementGroupName: prefix(c, 'hpc-cluster'),
      strategy: ec2.PlacementGroupStrategy.CLUSTER,
    });
    this.hpcSubnet = this.vpc.privateSubnets[0]!;
  }
}
