import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import * as cdk from 'aws-cdk-lib';
import { TapStack } from './tap-stack';

/*
 * The example app as an integration test. Offline, the test command verifies its snapshot. With AWS
 * credentials, `integ-runner` deploys it and runs the assertions below against the real pipeline: a small CSV
 * put under incoming/ must start a Glue run, produce a validation report, start a migration execution, and
 * reach the audit index.
 */
const app = new cdk.App();
const stack = new TapStack(app, 'TapStack', { environmentSuffix: 'integ' });
const pipeline = stack.pipeline;

// The assertions read the pipeline's resources, so they live in the same environment (us-west-2).
const assertionStack = new cdk.Stack(app, 'TapStackAssertions', { env: { region: 'us-west-2', account: process.env.CDK_DEFAULT_ACCOUNT } });
const integ = new IntegTest(app, 'MigrationPipelineInteg', {
  testCases: [stack],
  assertionStack,
  regions: ['us-west-2'],
  diffAssets: false,
  stackUpdateWorkflow: false,
});

const SAMPLE_KEY = 'incoming/integ/sample.csv';
const REPORT_KEY = 'reports/integ/sample.csv.json';
const bucket = pipeline.storage.dataBucket.bucketName;
// Glue needs minutes to start and run; the migration and the audit delivery follow within a few more.
const patiently = { totalTimeout: cdk.Duration.minutes(30), interval: cdk.Duration.seconds(30) };

const putSample = integ.assertions.awsApiCall('S3', 'putObject', {
  Bucket: bucket,
  Key: SAMPLE_KEY,
  Body: 'id,name\n1,alpha\n2,beta\n',
});

const glueRun = integ.assertions.awsApiCall('Glue', 'getJobRuns', { JobName: pipeline.glue.jobName })
  .expect(ExpectedResult.objectLike({
    JobRuns: Match.arrayWith([Match.objectLike({ Arguments: Match.objectLike({ '--source_key': SAMPLE_KEY }), JobRunState: 'SUCCEEDED' })]),
  }))
  .waitForAssertions(patiently);

const report = integ.assertions.awsApiCall('S3', 'headObject', { Bucket: bucket, Key: REPORT_KEY })
  .expect(ExpectedResult.objectLike({ ContentType: 'application/json' }))
  .waitForAssertions(patiently);

const execution = integ.assertions.awsApiCall('SFN', 'listExecutions', { stateMachineArn: pipeline.orchestration.stateMachine.stateMachineArn })
  .expect(ExpectedResult.objectLike({ executions: Match.arrayWith([Match.objectLike({ stateMachineArn: Match.stringLikeRegexp('migration-orchestration-integ') })]) }))
  .waitForAssertions(patiently);

// The domain is only reachable inside the VPC: the stream's delivery metric shows documents were indexed,
// and an empty failed-documents prefix shows none were rejected.
const auditDelivered = integ.assertions.awsApiCall('CloudWatch', 'listMetrics', {
  Namespace: 'AWS/Firehose',
  MetricName: 'DeliveryToAmazonOpenSearchService.Records',
  Dimensions: [{ Name: 'DeliveryStreamName', Value: pipeline.logging.deliveryStreamName }],
  RecentlyActive: 'PT3H',
})
  .expect(ExpectedResult.objectLike({ Metrics: Match.arrayWith([Match.objectLike({ MetricName: 'DeliveryToAmazonOpenSearchService.Records' })]) }))
  .waitForAssertions(patiently);

const noFailedDocuments = integ.assertions.awsApiCall('S3', 'listObjectsV2', {
  Bucket: pipeline.logging.backupBucket.bucketName,
  Prefix: 'failed-documents/',
}).expect(ExpectedResult.objectLike({ KeyCount: 0 }));

putSample.next(glueRun).next(report).next(execution).next(auditDelivered).next(noFailedDocuments);
