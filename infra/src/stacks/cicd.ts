import { CfnResource, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import { Construct } from 'constructs';
import { MetavecConfig, prefix } from '../config';
import { acknowledge } from '../nag';

export interface CiCdStackProps extends StackProps {
  config: MetavecConfig;
  key: kms.IKey;
  logsBucket: s3.IBucket;
}

/**
 * ECR repository for the worker image and a pipeline: S3 source (a zip of the repository) -> CodeBuild
 * image build and push (CPU and CUDA variants) -> CodeBuild `cdk deploy` of the stacks.
 */
export class CiCdStack extends Stack {
  readonly repository: ecr.Repository;
  readonly sourceBucket: s3.Bucket;
  readonly pipeline: codepipeline.Pipeline;

  constructor(scope: Construct, id: string, props: CiCdStackProps) {
    super(scope, id, props);
    const c = props.config;
    this.repository = new ecr.Repository(this, 'WorkerImages', {
      repositoryName: prefix(c, 'worker'),
      imageScanOnPush: true,
      imageTagMutability: ecr.TagMutability.MUTABLE,
      encryption: ecr.RepositoryEncryption.KMS,
      encryptionKey: props.key,
      lifecycleRules: [{ maxImageCount: 20, description: 'keep the last 20 images' }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const bucket = (id: string): s3.Bucket =>
      new s3.Bucket(this, id, {
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: props.key,
        bucketKeyEnabled: true,
        enforceSSL: true,
        versioned: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        serverAccessLogsBucket: props.logsBucket,
        serverAccessLogsPrefix: `${id.toLowerCase()}/`,
        lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.sourceBucket = bucket('Source');
    const artifacts = bucket('Artifacts');

    const imageBuild = new codebuild.PipelineProject(this, 'ImageBuild', {
      projectName: prefix(c, 'image-build'),
      description: 'docker build + push of the metavec worker image (CPU and CUDA)',
      encryptionKey: props.key,
      timeout: Duration.hours(2),
      environment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, computeType: codebuild.ComputeType.LARGE, privileged: true },
      environmentVariables: {
        REPOSITORY_URI: { value: this.repository.repositoryUri },
        IMAGE_TAG: { value: c.ray.imageTag },
        CUDA_IMAGE_TAG: { value: c.ray.cudaImageTag },
        RAY_VERSION: { value: c.ray.rayVersion },
      },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        phases: {
          pre_build: {
            commands: ['aws ecr get-login-password | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"'],
          },
          build: {
            commands: [
              'docker build -f infra/docker/Dockerfile --build-arg RAY_VERSION=$RAY_VERSION -t "$REPOSITORY_URI:$IMAGE_TAG" -t "$REPOSITORY_URI:$CODEBUILD_RESOLVED_SOURCE_VERSION" .',
              'docker build -f infra/docker/Dockerfile --build-arg BASE=cuda --build-arg RAY_VERSION=$RAY_VERSION -t "$REPOSITORY_URI:$CUDA_IMAGE_TAG" .',
            ],
          },
          post_build: {
            commands: ['docker push --all-tags "$REPOSITORY_URI"'],
          },
        },
      }),
    });
    acknowledge(imageBuild, 'AwsSolutions-CB3', 'Privileged mode is required to run the Docker daemon that builds the worker image.');
    this.repository.grantPullPush(imageBuild);

    const deploy = new codebuild.PipelineProject(this, 'Deploy', {
      projectName: prefix(c, 'deploy'),
      description: 'cdk deploy of the metavec stacks',
      encryptionKey: props.key,
      timeout: Duration.hours(2),
      environment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, computeType: codebuild.ComputeType.SMALL },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        phases: {
          install: { commands: ['cd infra', 'npm ci --no-audit --no-fund'] },
          build: { commands: ['npx tsc -p tsconfig.json', 'npx cdk deploy --all --require-approval never'] },
        },
      }),
    });
    // cdk deploy works through the roles `cdk bootstrap` created; it needs nothing else.
    deploy.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sts:AssumeRole'],
        resources: [`arn:${this.partition}:iam::${this.account}:role/cdk-*`],
      }),
    );

    const sourceOut = new codepipeline.Artifact('Source');
    this.pipeline = new codepipeline.Pipeline(this, 'Pipeline', {
      pipelineName: prefix(c, 'pipeline'),
      artifactBucket: artifacts,
      pipelineType: codepipeline.PipelineType.V2,
      restartExecutionOnUpdate: false,
      stages: [
        {
          stageName: 'Source',
          actions: [
            new actions.S3SourceAction({
              actionName: 'Source',
              bucket: this.sourceBucket,
              bucketKey: c.cicd.sourceObjectKey,
              output: sourceOut,
              trigger: actions.S3Trigger.POLL,
            }),
          ],
        },
        { stageName: 'Image', actions: [new actions.CodeBuildAction({ actionName: 'BuildAndPush', project: imageBuild, input: sourceOut })] },
        { stageName: 'Deploy', actions: [new actions.CodeBuildAction({ actionName: 'CdkDeploy', project: deploy, input: sourceOut })] },
      ],
    });
  }
}
