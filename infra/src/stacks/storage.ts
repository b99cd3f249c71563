import { Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as athena from 'aws-cdk-lib/aws-athena';
import { Construct } from 'constructs';
import { MetavecConfig, prefix } from '../config';
import { acknowledge } from '../nag';

export interface StorageStackProps extends StackProps {
  config: MetavecConfig;
}

/**
 * The data lake: raw reads, embeddings (Phase 1 shards) and results (Phase 2), each KMS-encrypted, TLS only,
 * public access blocked, versioned, with lifecycle rules; Glue catalog + crawler and an Athena workgroup.
 */
export class StorageStack extends Stack {
  readonly key: kms.Key;
  readonly rawBucket: s3.Bucket;
  readonly embeddingsBucket: s3.Bucket;
  readonly resultsBucket: s3.Bucket;
  readonly logsBucket: s3.Bucket;
  readonly glueDatabaseName: string;
  readonly athenaWorkgroupName: string;

  constructor(scope: Construct, id: string, props: StorageStackProps) {
    super(scope, id, props);
    const c = props.config;
    this.key = new kms.Key(this, 'DataKey', {
      alias: `alias/${prefix(c, 'data')}`,
      enableKeyRotation: true,
      description: 'metavec data lake (S3, Glue, Athena, FSx)',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs (Glue crawler logs) encrypt with this key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:*` } },
      }),
    );

    this.logsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED, // server access logs cannot target SSE-KMS buckets
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.logsBucket, 'AwsSolutions-S1', 'This is the server access log bucket itself; logging it into itself would loop.');

    const lifecycle = (tiered: boolean): s3.LifecycleRule[] => [
      {
        id: 'tiering',
        transitions: [
          { storageClass: s3.StorageClass.INTELLIGENT_TIERING, transitionAfter: Duration.days(c.storage.infrequentAccessAfterDays) },
          ...(tiered ? [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(c.storage.glacierAfterDays) }] : []),
        ],
        noncurrentVersionExpiration: Duration.days(c.storage.noncurrentVersionExpirationDays),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
    ];
    const bucket = (id: string, logPrefix: string, tiered: boolean): s3.Bucket =>
      new s3.Bucket(this, id, {
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.key,
        bucketKeyEnabled: true,
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        versioned: true,
        serverAccessLogsBucket: this.logsBucket,
        serverAccessLogsPrefix: logPrefix,
        lifecycleRules: lifecycle(tiered),
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.rawBucket = bucket('RawReads', 'raw/', true);
    this.embeddingsBucket = bucket('Embeddings', 'embeddings/', false);
    this.resultsBucket = bucket('Results', 'results/', false);

    // Glue: a database with the Phase 1 shards and Phase 2 labels as tables, found by a crawler.
    this.glueDatabaseName = `${c.project.replace(/-/g, '_')}_lake`;
    const db = new glue.CfnDatabase(this, 'GlueDatabase', {
      catalogId: this.account,
      databaseInput: { name: this.glueDatabaseName, description: 'metavec shards (Phase 1) and labels (Phase 2)' },
    });
    const securityConfiguration = new glue.CfnSecurityConfiguration(this, 'GlueSecurity', {
      name: prefix(c, 'glue-security'),
      encryptionConfiguration: {
        cloudWatchEncryption: { cloudWatchEncryptionMode: 'SSE-KMS', kmsKeyArn: this.key.keyArn },
        jobBookmarksEncryption: { jobBookmarksEncryptionMode: 'CSE-KMS', kmsKeyArn: this.key.keyArn },
        s3Encryptions: [{ s3EncryptionMode: 'SSE-KMS', kmsKeyArn: this.key.keyArn }],
      },
    });
    const crawlerRole = new iam.Role(this, 'CrawlerRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'Glue crawler over the embeddings and results buckets',
    });
    this.embeddingsBucket.grantRead(crawlerRole);
    this.resultsBucket.grantRead(crawlerRole);
    this.key.grantEncryptDecrypt(crawlerRole);
    crawlerRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:CreateTable', 'glue:UpdateTable', 'glue:BatchGetPartition', 'glue:BatchCreatePartition', 'glue:GetPartition', 'glue:GetPartitions', 'glue:UpdatePartition', 'glue:GetSecurityConfiguration'],
        resources: [
          `arn:${this.partition}:glue:${this.region}:${this.account}:catalog`,
          `arn:${this.partition}:glue:${this.region}:${this.account}:database/${this.glueDatabaseName}`,
          `arn:${this.partition}:glue:${this.region}:${this.account}:table/${this.glueDatabaseName}/*`,
        ],
      }),
    );
    crawlerRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'],
        resources: [`arn:${this.partition}:logs:${this.region}:${this.account}:log-group:/aws-glue/crawlers*`],
      }),
    );
    const crawler = new glue.CfnCrawler(this, 'Crawler', {
      name: prefix(c, 'lake-crawler'),
      role: crawlerRole.roleArn,
      databaseName: this.glueDatabaseName,
      crawlerSecurityConfiguration: securityConfiguration.name,
      schedule: { scheduleExpression: 'cron(0 3 * * ? *)' },
      targets: {
        s3Targets: [
          { path: `s3://${this.embeddingsBucket.bucketName}/runs/`, exclusions: ['**/manifest.json', '**/qc_stats.json'] },
          { path: `s3://${this.resultsBucket.bucketName}/runs/`, exclusions: ['**/*.nc', '**/*.json', '**/*.html'] },
        ],
      },
      schemaChangePolicy: { updateBehavior: 'UPDATE_IN_DATABASE', deleteBehavior: 'LOG' },
      recrawlPolicy: { recrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' },
    });
    crawler.addResourceDependency(db);
    crawler.addResourceDependency(securityConfiguration);

    this.athenaWorkgroupName = prefix(c, 'analytics');
    new athena.CfnWorkGroup(this, 'Workgroup', {
      name: this.athenaWorkgroupName,
      description: 'Queries over metavec shards and labels',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: 100 * 1024 ** 3,
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/athena/`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: this.key.keyArn },
        },
      },
    });
  }
}
