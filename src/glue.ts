import { ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { acknowledgeAll, exemptFromGuard, expectWildcards } from './private/acknowledgements';
import { PIPELINE_METRIC_NAMESPACE } from './private/pipeline-metrics';
import { readRuntimeSource } from './private/runtime-code';
import { reportError, requireDurationInRange, requireIntegerInRange, requireMatch, requireOneOf, requireThat } from './private/validation';
import { INCOMING_PREFIX, REPORTS_PREFIX, SCRIPTS_PREFIX } from './storage';

/** Settings of the Glue validation job and the rules it checks. */
export interface GlueOptions {
  /**
   * The Glue version of the validation job: '3.0', '4.0' or '5.0' (older versions have reached end of support,
   * and Glue no longer creates jobs on them).
   * @default '4.0'
   */
  readonly glueVersion?: string;

  /**
   * How long one validation run may take.
   * @default Duration.minutes(60)
   */
  readonly timeout?: Duration;

  /**
   * How often Glue retries a failed run.
   * @default 2
   */
  readonly maxRetries?: number;

  /**
   * How many runs may go at once (one run per arriving file).
   * @default 10
   */
  readonly maxConcurrentRuns?: number;

  /**
   * Queues the runs started beyond `maxConcurrentRuns` (or the account's Glue quotas) in the WAITING state instead of
   * failing them with ConcurrentRunsExceededException, so that a burst of files is validated one batch after another.
   * @default true
   * @see https://docs.aws.amazon.com/glue/latest/dg/job-run-statuses.html
   */
  readonly jobRunQueuing?: boolean;

  /**
   * The worker type of the job, a Spark job: 'G.1X', 'G.2X', 'G.4X' or 'G.8X'; with Glue 4.0 or later also 'G.12X',
   * 'G.16X' and the memory-optimized 'R.1X', 'R.2X', 'R.4X', 'R.8X' ('G.025X' is for streaming and 'Z.2X' for Ray jobs).
   * @default 'G.1X'
   */
  readonly workerType?: string;

  /**
   * How many workers one run uses.
   * @default 2
   */
  readonly numberOfWorkers?: number;

  /**
   * Columns every file must have. Names must not contain commas or blanks (the job receives them as one
   * comma-separated argument).
   * @default - no column is required to exist
   */
  readonly expectedColumns?: string[];

  /**
   * Columns that must not hold nulls or empty strings; when `expectedColumns` is given, each must be one of them.
   * @default - none
   */
  readonly requiredColumns?: string[];

  /**
   * Columns whose combined values must be unique; when `expectedColumns` is given, each must be one of them.
   * @default - no uniqueness check
   */
  readonly uniqueKeyColumns?: string[];

  /**
   * The fewest rows a valid file has.
   * @default 1
   */
  readonly minRows?: number;
}

/** Props of {@link GlueValidation}. */
export interface GlueValidationProps extends GlueOptions {
  /** The bucket whose `incoming/` files are validated and where reports are written. */
  readonly dataBucket: s3.IBucket;
  /** The bucket the script is deployed to. */
  readonly scriptBucket: s3.IBucket;
  /** The environment suffix, used in names. */
  readonly environmentSuffix: string;
  /**
   * The customer-managed key that encrypts the job's CloudWatch logs and its bookmarks.
   * @default - no security configuration: Glue's default encryption
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * The name the pipeline's own audit events carry.
   * @default 'migration-pipeline'
   */
  readonly pipelineName?: string;
  /**
   * What happens to the catalog database and the deployed `scripts/validate.py` when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The worker types a Spark ETL job (command `glueetl`, this job) runs on, by Glue version: "AWS Glue worker types",
 * AWS Glue Developer Guide, and WorkerType of the Job structure, AWS Glue API Reference. G.4X and G.8X need Glue 3.0
 * or later; G.12X, G.16X and the memory-optimized R types need 4.0 or later. G.025X is for streaming jobs only,
 * Z.2X for Ray jobs only, and Standard for Glue versions that no longer take new jobs: Glue refuses them here.
 */
const SPARK_WORKER_TYPES: Record<string, readonly string[]> = {
  '3.0': ['G.1X', 'G.2X', 'G.4X', 'G.8X'],
  '4.0': ['G.1X', 'G.2X', 'G.4X', 'G.8X', 'G.12X', 'G.16X', 'R.1X', 'R.2X', 'R.4X', 'R.8X'],
  '5.0': ['G.1X', 'G.2X', 'G.4X', 'G.8X', 'G.12X', 'G.16X', 'R.1X', 'R.2X', 'R.4X', 'R.8X'],
};
/** Worker types of other job types, named in the error so that the reason is clear. */
const OTHER_JOB_TYPES: Record<string, string> = { 'G.025X': 'streaming jobs', 'Z.2X': 'Ray jobs' };
/** Glue versions that still take new jobs ("AWS Glue version support policy", AWS Glue Developer Guide). */
const GLUE_VERSIONS = ['3.0', '4.0', '5.0'];
/** A column name the job can receive in its comma-separated arguments. */
const COLUMN_NAME = /^[^,\s]+$/;

/**
 * The Glue catalog database and the validation job. The job's script ships with this library and is
 * deployed to `s3://<script bucket>/scripts/validate.py`; each run checks one file and publishes the result.
 */
export class GlueValidation extends Construct {
  /** The validation job. */
  public readonly validationJob: glue.CfnJob;
  /** The job's name. */
  public readonly jobName: string;
  /** The role the job runs as. */
  public readonly role: iam.IRole;
  /** The Glue Data Catalog database of the migrated data. */
  public readonly catalogDatabase: glue.CfnDatabase;

  constructor(scope: Construct, id: string, props: GlueValidationProps) {
    super(scope, id);
    const requestedTimeout = props.timeout ?? Duration.minutes(60);
    const maxRetries = props.maxRetries ?? 2;
    const maxConcurrentRuns = props.maxConcurrentRuns ?? 10;
    const workerType = props.workerType ?? 'G.1X';
    const numberOfWorkers = props.numberOfWorkers ?? 2;
    const minRows = props.minRows ?? 1;
    // Glue takes the timeout in whole minutes.
    const timeout = requireDurationInRange(this, 'glue.timeout', requestedTimeout, Duration.minutes(1), Duration.days(7), 'minutes')
      ? requestedTimeout : Duration.minutes(60);
    requireIntegerInRange(this, 'glue.maxRetries', maxRetries, 0, 10);
    requireIntegerInRange(this, 'glue.maxConcurrentRuns', maxConcurrentRuns, 1, 1000);
    requireIntegerInRange(this, 'glue.numberOfWorkers', numberOfWorkers, 2, 299);
    requireIntegerInRange(this, 'glue.minRows', minRows, 0, Number.MAX_SAFE_INTEGER);
    if (requireOneOf(this, 'glue.glueVersion', props.glueVersion, GLUE_VERSIONS)) {
      requireSparkWorkerType(this, workerType, props.glueVersion ?? '4.0');
    }
    this.checkColumns(props);

    const stack = Stack.of(this);
    this.jobName = `migration-validation-${props.environmentSuffix}`;

    this.catalogDatabase = new glue.CfnDatabase(this, 'CatalogDatabase', {
      catalogId: stack.account,
      databaseInput: {
        name: `migration_catalog_${props.environmentSuffix.replace(/-/g, '_')}`,
        description: 'Tables of the data migrated by the pipeline',
      },
    });
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.catalogDatabase.applyRemovalPolicy(removalPolicy);

    const scriptDeployment = new s3deploy.BucketDeployment(this, 'ValidationScript', {
      sources: [s3deploy.Source.data('validate.py', readRuntimeSource('validate.py'))],
      destinationBucket: props.scriptBucket,
      destinationKeyPrefix: SCRIPTS_PREFIX,
      // Other scripts an operator keeps under scripts/ stay where they are.
      prune: false,
      // Without retention, deleting the stack removes scripts/ so that the script bucket can be emptied and deleted.
      retainOnDelete: removalPolicy === RemovalPolicy.RETAIN,
      memoryLimit: 256,
    });

    this.role = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: `Runs ${this.jobName}: reads incoming files, writes reports, publishes results`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSGlueServiceRole')],
    });
    this.grantJobAccess(props.dataBucket, props.scriptBucket);
    expectWildcards(this.role, [
      { finding: /^Resource::<[^>]*DataBucket[^>]*>\/(incoming|reports)\/\*$/, reason: 'The job reads any file under incoming/ and writes its report under reports/: one prefix each' },
      { finding: /^Resource::<[^>]*ScriptBucket[^>]*>\/(scripts|temp)\/\*$/, reason: 'The job reads its script under scripts/ and keeps Spark temporary files under temp/' },
      { finding: /^Resource::arn:<AWS::Partition>:logs:[^:]+:(?:<AWS::AccountId>|\d{12}):log-group:\/aws-glue\/\*$/, reason: 'Glue names the job log groups under /aws-glue/ at run time' },
      { finding: /^Resource::\*$/, reason: 'Only cloudwatch:PutMetricData, which has no resource-level permissions; limited to the MigrationPipeline namespace by condition' },
    ]);
    acknowledgeAll(this.role, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSGlueServiceRole]':
        'The spec asks for AWSGlueServiceRole; the data access itself is granted per prefix in the role policy',
      'NIST.800.53.R5-IAMNoInlinePolicy': 'The role policy belongs to the validation job and lists the prefixes it reads and writes',
    });

    const securityConfiguration = props.encryptionKey ? this.createSecurityConfiguration(props.encryptionKey, props.environmentSuffix) : undefined;

    this.validationJob = new glue.CfnJob(this, 'ValidationJob', {
      name: this.jobName,
      securityConfiguration: securityConfiguration?.ref,
      description: 'Validates one file that arrived under incoming/ and publishes the result',
      role: this.role.roleArn,
      glueVersion: props.glueVersion ?? '4.0',
      command: {
        name: 'glueetl',
        pythonVersion: '3',
        scriptLocation: props.scriptBucket.s3UrlForObject(`${SCRIPTS_PREFIX}validate.py`),
      },
      workerType,
      numberOfWorkers,
      timeout: timeout.toMinutes(),
      maxRetries,
      executionProperty: { maxConcurrentRuns },
      // One run per arriving file: without queuing, the 11th file of a burst is refused and, after the trigger's
      // few retries, parked unvalidated in the dead-letter queue. Glue keeps queued runs WAITING until a slot frees.
      jobRunQueuingEnabled: props.jobRunQueuing ?? true,
      defaultArguments: {
        '--job-language': 'python',
        '--job-bookmark-option': 'job-bookmark-enable',
        '--enable-metrics': 'true',
        '--enable-continuous-cloudwatch-log': 'true',
        '--enable-observability-metrics': 'true',
        '--TempDir': props.scriptBucket.s3UrlForObject('temp/'),
        '--incoming_prefix': INCOMING_PREFIX,
        '--report_prefix': REPORTS_PREFIX,
        '--pipeline_name': props.pipelineName ?? 'migration-pipeline',
        '--audit_event_bus': 'default',
        '--expected_columns': (props.expectedColumns ?? []).join(','),
        '--required_columns': (props.requiredColumns ?? []).join(','),
        '--unique_key_columns': (props.uniqueKeyColumns ?? []).join(','),
        '--min_rows': String(minRows),
      },
    });
    // The job must not start before its script is in place.
    this.validationJob.node.addDependency(scriptDeployment);
    acknowledgeBucketDeployment(Stack.of(this));
  }

  /** Column names must survive the comma-separated job arguments; required and key columns must be expected ones. */
  private checkColumns(props: GlueOptions): void {
    const lists = { expectedColumns: props.expectedColumns, requiredColumns: props.requiredColumns, uniqueKeyColumns: props.uniqueKeyColumns };
    for (const [name, columns] of Object.entries(lists)) {
      for (const column of columns ?? []) {
        requireMatch(this, `glue.${name}`, column, COLUMN_NAME, 'a column name without commas or blanks');
      }
    }
    const expected = props.expectedColumns ?? [];
    if (expected.length === 0) {
      return;
    }
    for (const name of ['requiredColumns', 'uniqueKeyColumns'] as const) {
      const unexpected = (props[name] ?? []).filter((column) => !expected.includes(column));
      requireThat(this, unexpected.length === 0,
        `glue.${name}: received ${unexpected.map((c) => `'${c}'`).join(', ')}, not in glue.expectedColumns; ` +
        `expected columns from glue.expectedColumns (${expected.map((c) => `'${c}'`).join(', ')}).`);
    }
  }

  /** Exactly the S3 and EventBridge access a validation run needs. */
  private grantJobAccess(dataBucket: s3.IBucket, scriptBucket: s3.IBucket): void {
    const stack = Stack.of(this);
    const allow = (actions: string[], resources: string[]) => this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources }));
    allow(['s3:ListBucket'], [dataBucket.bucketArn, scriptBucket.bucketArn]);
    allow(['s3:GetObject'], [dataBucket.arnForObjects(`${INCOMING_PREFIX}*`), scriptBucket.arnForObjects(`${SCRIPTS_PREFIX}*`)]);
    allow(['s3:PutObject'], [dataBucket.arnForObjects(`${REPORTS_PREFIX}*`)]);
    allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [scriptBucket.arnForObjects('temp/*')]);
    allow(['events:PutEvents'], [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })]);
    // One FilesValidated data point per file. PutMetricData has no resource-level permissions; the namespace
    // condition keeps the job to the pipeline's own metrics.
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': PIPELINE_METRIC_NAMESPACE } },
    }));
  }

  /**
   * Encrypts the job's logs and bookmarks with the customer key (the scripts and reports stay SSE-S3, as the
   * buckets are). Glue associates the key with the job's log groups, which needs logs:AssociateKmsKey.
   */
  private createSecurityConfiguration(key: kms.IKey, suffix: string): glue.CfnSecurityConfiguration {
    const configuration = new glue.CfnSecurityConfiguration(this, 'SecurityConfiguration', {
      name: `migration-validation-${suffix}`,
      encryptionConfiguration: {
        cloudWatchEncryption: { cloudWatchEncryptionMode: 'SSE-KMS', kmsKeyArn: key.keyArn },
        jobBookmarksEncryption: { jobBookmarksEncryptionMode: 'CSE-KMS', kmsKeyArn: key.keyArn },
        s3Encryptions: [{ s3EncryptionMode: 'SSE-S3' }],
      },
    });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [key.keyArn],
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:AssociateKmsKey'],
      resources: [Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws-glue/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    return configuration;
  }

  /** The job's ARN. */
  public get jobArn(): string {
    return Stack.of(this).formatArn({ service: 'glue', resource: 'job', resourceName: this.jobName });
  }
}

/**
 * CDK's bucket-deployment function (one per stack) copies the script from the deployment asset bucket into
 * scripts/; it runs only while CloudFormation deploys, and its permissions are CDK's.
 */
function acknowledgeBucketDeployment(stack: Stack): void {
  const deploymentFunction = stack.node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (!deploymentFunction) {
    return;
  }
  const reason = 'CDK\'s deployment-time function that copies validate.py from the asset bucket into scripts/ of the script bucket';
  expectWildcards(deploymentFunction, [{ finding: /.*/, reason: `${reason}: CDK grants it the asset and destination objects` }]);
  exemptFromGuard(deploymentFunction.node.findChild('Resource'), 'lambda_inside_vpc_check', `${reason}: it reaches only S3 and needs nothing in the VPC`);
  acknowledgeAll(deploymentFunction, {
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': `${reason}: logs only`,
    'AwsSolutions-L1': `${reason}: CDK chooses and updates its runtime`,
    'NIST.800.53.R5-LambdaConcurrency': `${reason}: one invocation per deployment`,
    'NIST.800.53.R5-LambdaDLQ': `${reason}: CloudFormation waits for its answer and fails the deployment otherwise`,
    'NIST.800.53.R5-LambdaInsideVPC': `${reason}: it reaches only S3 and needs nothing in the VPC`,
    'NIST.800.53.R5-IAMNoInlinePolicy': `${reason}: its policy is CDK's, scoped to the two buckets`,
  });
}

/** Fails unless the validation job, a Spark ETL job, can run on `workerType` in Glue `glueVersion`. */
function requireSparkWorkerType(scope: Construct, workerType: string, glueVersion: string): void {
  const allowed = SPARK_WORKER_TYPES[glueVersion];
  if (Token.isUnresolved(workerType) || Token.isUnresolved(glueVersion) || !allowed || allowed.includes(workerType)) {
    return;
  }
  const otherJobType = OTHER_JOB_TYPES[workerType];
  const why = otherJobType ? `, which Glue offers for ${otherJobType} only` : '';
  reportError(scope, `glue.workerType: received '${workerType}'${why}; expected a worker type of Spark jobs in Glue ${glueVersion}: `
    + `${allowed.map((type) => `'${type}'`).join(', ')}.`);
}
