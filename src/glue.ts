import { Duration, Stack } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { readRuntimeSource } from './runtime-code';
import { INCOMING_PREFIX, REPORTS_PREFIX, SCRIPTS_PREFIX } from './storage';
import { requireDurationInRange, requireIntegerInRange, requireOneOf } from './validation';

/** Settings of the Glue validation job and the rules it checks. */
export interface GlueOptions {
  /**
   * The Glue version of the validation job.
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
   * How many runs may go at once (one run per arriving file), so that bursts of files are not rejected.
   * @default 10
   */
  readonly maxConcurrentRuns?: number;

  /**
   * The worker type of the job.
   * @default 'G.1X'
   */
  readonly workerType?: string;

  /**
   * How many workers one run uses.
   * @default 2
   */
  readonly numberOfWorkers?: number;

  /**
   * Columns every file must have.
   * @default - no column is required to exist
   */
  readonly expectedColumns?: string[];

  /**
   * Columns that must not hold nulls or empty strings.
   * @default - none
   */
  readonly requiredColumns?: string[];

  /**
   * Columns whose combined values must be unique.
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
   * The name the pipeline's own audit events carry.
   * @default 'migration-pipeline'
   */
  readonly pipelineName?: string;
}

const WORKER_TYPES = ['G.025X', 'G.1X', 'G.2X', 'G.4X', 'G.8X', 'Z.2X'];

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
  public readonly role: iam.Role;
  /** The Glue Data Catalog database of the migrated data. */
  public readonly catalogDatabase: glue.CfnDatabase;

  constructor(scope: Construct, id: string, props: GlueValidationProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.minutes(60);
    const maxRetries = props.maxRetries ?? 2;
    const maxConcurrentRuns = props.maxConcurrentRuns ?? 10;
    const workerType = props.workerType ?? 'G.1X';
    const numberOfWorkers = props.numberOfWorkers ?? 2;
    const minRows = props.minRows ?? 1;
    requireDurationInRange('glue.timeout', timeout, Duration.minutes(1), Duration.days(7));
    requireIntegerInRange('glue.maxRetries', maxRetries, 0, 10);
    requireIntegerInRange('glue.maxConcurrentRuns', maxConcurrentRuns, 1, 1000);
    requireIntegerInRange('glue.numberOfWorkers', numberOfWorkers, 2, 299);
    requireIntegerInRange('glue.minRows', minRows, 0, Number.MAX_SAFE_INTEGER);
    requireOneOf('glue.workerType', workerType, WORKER_TYPES);

    const stack = Stack.of(this);
    this.jobName = `migration-validation-${props.environmentSuffix}`;

    this.catalogDatabase = new glue.CfnDatabase(this, 'CatalogDatabase', {
      catalogId: stack.account,
      databaseInput: {
        name: `migration_catalog_${props.environmentSuffix.replace(/-/g, '_')}`,
        description: 'Tables of the data migrated by the pipeline',
      },
    });

    const scriptDeployment = new s3deploy.BucketDeployment(this, 'ValidationScript', {
      sources: [s3deploy.Source.data('validate.py', readRuntimeSource('validate.py'))],
      destinationBucket: props.scriptBucket,
      destinationKeyPrefix: SCRIPTS_PREFIX,
      // Other scripts an operator keeps under scripts/ stay where they are.
      prune: false,
      memoryLimit: 256,
    });

    this.role = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: `Runs ${this.jobName}: reads incoming files, writes reports, publishes results`,
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSGlueServiceRole')],
    });
    props.dataBucket.grantRead(this.role, `${INCOMING_PREFIX}*`);
    props.dataBucket.grantPut(this.role, `${REPORTS_PREFIX}*`);
    props.scriptBucket.grantRead(this.role, `${SCRIPTS_PREFIX}*`);
    props.scriptBucket.grantReadWrite(this.role, 'temp/*');
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['events:PutEvents'],
      resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
    }));

    this.validationJob = new glue.CfnJob(this, 'ValidationJob', {
      name: this.jobName,
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
  }

  /** The job's ARN. */
  public get jobArn(): string {
    return Stack.of(this).formatArn({ service: 'glue', resource: 'job', resourceName: this.jobName });
  }
}
