import { createHash } from 'crypto';
import { ArnFormat, CfnResource, CustomResource, Duration, IResolveContext, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as dms from 'aws-cdk-lib/aws-dms';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeAll, exemptFromGuard, expectWildcards } from './acknowledgements';
import { createLogGroup } from './log-groups';
import { readRuntimeSource } from './runtime-code';

/**
 * The tag the guard puts on the task before it stops it for a deployment, and removes once the deployment has
 * updated the guarded resources. A migration run that finds the task stopped with this tag leaves it stopped.
 * src/runtime/dms_task_guard.py spells the same key.
 */
export const DEPLOYMENT_MARKER_TAG = 'migration-pipeline:stopped-for-deployment';

/** Props of {@link DmsTaskStopGuard}. */
export interface DmsTaskStopGuardProps {
  /** The task to stop. */
  readonly replicationTask: dms.CfnReplicationTask;
  /** The task's lease (see task-lease.ts): the guard holds it from before the stop until the task is updated. */
  readonly taskLease: dynamodb.ITable;
  /** The task's identifier (the guard that runs before the task cannot reference it: it finds the task by this name). */
  readonly replicationTaskIdentifier: string;
  /**
   * The resources DMS refuses to change while the task runs: the task itself, its endpoints and its instance. Their
   * synthesized properties, escape-hatch overrides included, make the fingerprint that stops the task when it changes.
   */
  readonly guarded: CfnResource[];
  /** The function's name. */
  readonly functionName: string;
  /** @default - CloudWatch Logs' own encryption */
  readonly logEncryptionKey?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
  /** How long the function's logs are kept. @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** How long the function waits for the task to stop. */
  readonly maxWait: Duration;
}

/**
 * Stops the replication task before CloudFormation modifies or deletes it (DMS refuses both on a running task,
 * and a full-load-and-cdc task runs for ever). CloudFormation creates and updates a resource after the resources
 * it depends on, and deletes it before them ("DependsOn attribute", CloudFormation User Guide), so one custom
 * resource cannot come first for both:
 *
 * - `BeforeUpdate`: the task, its endpoints and its instance depend on it, so CloudFormation updates it before
 *   any of them. Its properties carry a fingerprint of their settings, so it is updated (and stops the task)
 *   exactly when one of them is about to change. It cannot reference the task (that would be a cycle), so it
 *   finds the task by its identifier.
 * - `BeforeDelete`: depends on the task (it references its ARN), so CloudFormation deletes it before the task;
 *   its Delete stops the task.
 *
 * Both run the same function: Create does nothing, Update and Delete take the task's lease (task-lease.ts), tag
 * the task with DEPLOYMENT_MARKER_TAG, stop it and wait until it is stopped. A third resource, `AfterUpdate`, depends
 * on the guarded resources and carries the same fingerprint, so CloudFormation updates it after them in the same
 * deployments: it removes the tag, resumes the task if it ran before, and gives the lease back. While the deployment
 * holds the lease no migration run or remediation starts the task; a hold that no `AfterUpdate` ends (a failed
 * update) expires by itself.
 */
export class DmsTaskStopGuard extends Construct {
  /** Updated before the guarded resources. */
  public readonly beforeUpdate: CustomResource;
  /** Deleted before the task. */
  public readonly beforeDelete: CustomResource;
  /** Updated after the guarded resources: removes the deployment marker. */
  public readonly afterUpdate: CustomResource;
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: DmsTaskStopGuardProps) {
    super(scope, id);
    this.function = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      runtime: lambda.Runtime.PYTHON_3_12,
      handler: 'index.handler',
      code: lambda.Code.fromInline(readRuntimeSource('dms_task_guard.py')),
      // The wait plus the time to answer CloudFormation.
      timeout: props.maxWait.plus(Duration.minutes(1)),
      memorySize: 256,
      tracing: lambda.Tracing.ACTIVE,
      description: `Stops DMS task ${props.replicationTaskIdentifier} before CloudFormation modifies or deletes it`,
      logGroup: createLogGroup(this, 'Logs', {
        logGroupName: `/aws/lambda/${props.functionName}`,
        retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
        encryptionKey: props.logEncryptionKey,
        removalPolicy: props.removalPolicy,
      }),
    });
    // DescribeReplicationTasks supports no resource-level permissions; the task is chosen by a filter.
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['dms:DescribeReplicationTasks'], resources: ['*'] }));
    // Every permission the handler needs is in the function's own policy, which the function (and so every one of
    // the three resources) waits for, on create and on update. A policy naming the task's ARN could not be: the task
    // waits for `BeforeUpdate`, so on an update CloudFormation would update such a policy only after `BeforeUpdate`
    // ran with the old one (test/upgrade-safety.ts). DMS chooses the task's ARN, so the statement names the tasks of
    // this account and region.
    this.function.addToRolePolicy(new iam.PolicyStatement({
      // The deployment marker is a tag, set before the stop and removed once the deployment updated the task; the
      // task is resumed after the update if it ran before.
      actions: ['dms:StopReplicationTask', 'dms:StartReplicationTask', 'dms:AddTagsToResource', 'dms:RemoveTagsFromResource'],
      resources: [Stack.of(this).formatArn({ service: 'dms', resource: 'task', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    props.taskLease.grant(this.function, 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    this.function.addEnvironment('LEASE_TABLE_NAME', props.taskLease.tableName);

    // Computed while the template is written, from the guarded resources' final properties: an override added
    // through the public L1 fields after this construct was built still changes the fingerprint.
    const guardedProperties = (context: IResolveContext) => fingerprintOf(synthesizedProperties(props.guarded, context));
    const fingerprint = Lazy.uncachedString({ produce: (context) => guardedProperties(context).fingerprint });
    const references = Lazy.uncachedAny({ produce: (context) => guardedProperties(context).references });
    const common = {
      ReplicationTaskIdentifier: props.replicationTaskIdentifier,
      MaxWaitSeconds: String(props.maxWait.toSeconds()),
    };
    this.beforeUpdate = new CustomResource(this, 'BeforeUpdate', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::DmsTaskStopGuard',
      properties: { ...common, Fingerprint: fingerprint, References: references },
    });
    for (const guarded of props.guarded) {
      guarded.node.addDependency(this.beforeUpdate);
    }
    this.beforeDelete = new CustomResource(this, 'BeforeDelete', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::DmsTaskStopGuard',
      properties: { ...common, ReplicationTaskArn: props.replicationTask.ref },
    });
    // Updated after the guarded resources (it depends on them) whenever `BeforeUpdate` is: it removes the marker.
    this.afterUpdate = new CustomResource(this, 'AfterUpdate', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::DmsTaskStopGuard',
      properties: { ...common, Action: 'ClearDeploymentMarker', Fingerprint: fingerprint, References: references },
    });
    for (const guarded of props.guarded) {
      this.afterUpdate.node.addDependency(guarded);
    }
    this.acknowledgeFindings();
  }

  private acknowledgeFindings(): void {
    const reason = 'Runs only while CloudFormation updates or deletes the DMS task, to stop it first';
    expectWildcards(this.function, [
      { finding: /^Resource::\*$/, reason: 'Only X-Ray trace upload and dms:DescribeReplicationTasks, which support no resource-level permissions' },
      { finding: /^Resource::arn:<AWS::Partition>:dms:[^:]+:(?:<AWS::AccountId>|\d{12}):task:\*$/, reason: 'Stops, resumes and tags the pipeline\'s task, whose ARN DMS chooses and which waits for this function' },
    ]);
    acknowledgeAll(this.function, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]': `${reason}; AWS-managed log-writing policy`,
      'AwsSolutions-L1': 'Python 3.12, the runtime of the pipeline\'s other functions; the code runs unchanged on later versions',
      'NIST.800.53.R5-LambdaConcurrency': `${reason}: one invocation per stack operation`,
      'NIST.800.53.R5-LambdaDLQ': `${reason}: CloudFormation waits for its answer and fails the deployment otherwise`,
      'NIST.800.53.R5-LambdaInsideVPC': `${reason}: it calls only the DMS API`,
      'NIST.800.53.R5-IAMNoInlinePolicy': 'The policy belongs to this one function and allows only reading task states',
    });
    exemptFromGuard(this.function, 'lambda_inside_vpc_check', `${reason}: it calls only the DMS API`);
  }
}

/**
 * The CloudFormation properties of the guarded resources as they are written into the template (escape-hatch
 * overrides applied), by logical id. A reference from one guarded resource to another (the task's instance and
 * endpoint ARNs) is replaced by the other's logical id: BeforeUpdate cannot reference what waits for it, and a
 * change of the other resource already changes the fingerprint through that resource's own properties.
 */
function synthesizedProperties(guarded: CfnResource[], context: IResolveContext): Record<string, unknown> {
  const logicalIds = new Set(guarded.map((resource) => context.resolve(resource.logicalId) as string));
  const properties: Record<string, unknown> = {};
  for (const resource of guarded) {
    // _toCloudFormation() is how CDK itself renders a resource into the template, overrides included.
    const rendered = context.resolve((resource as any)._toCloudFormation()) as { Resources: Record<string, { Properties?: unknown }> };
    for (const [logicalId, definition] of Object.entries(rendered.Resources)) {
      // DMS tags a running task (AddTagsToResource), so a tag alone is no reason to stop it.
      const { Tags: _tags, ...settings } = (definition.Properties ?? {}) as Record<string, unknown>;
      properties[logicalId] = withoutGuardedReferences(settings, logicalIds);
    }
  }
  return properties;
}

/** Replaces `Ref` and `Fn::GetAtt` of the given logical ids by a literal naming them. */
function withoutGuardedReferences(value: any, logicalIds: Set<string>): any {
  if (Array.isArray(value)) {
    return value.map((item) => withoutGuardedReferences(item, logicalIds));
  }
  if (typeof value !== 'object' || value === null) {
    return value;
  }
  const target = value.Ref ?? (Array.isArray(value['Fn::GetAtt']) ? value['Fn::GetAtt'][0] : undefined);
  if (Object.keys(value).length === 1 && logicalIds.has(target)) {
    return `<guarded ${target}>`;
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutGuardedReferences(item, logicalIds)]));
}

/** A CloudFormation intrinsic function (`Ref`, `Fn::*`): a value that only CloudFormation knows. */
function isIntrinsic(value: any): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

/**
 * A fingerprint of settings that hold both literals and CloudFormation references: the literals are hashed, and
 * the references are returned as they are, to be passed on as properties (CloudFormation resolves them, so a
 * changed reference changes the properties just as a changed literal changes the hash).
 */
export function fingerprintOf(settings: unknown): { fingerprint: string; references: unknown[] } {
  const references: unknown[] = [];
  const normalize = (value: any): any => {
    if (Token.isUnresolved(value) || isIntrinsic(value)) {
      references.push(value);
      return `<reference ${references.length - 1}>`;
    }
    if (Array.isArray(value)) {
      return value.map(normalize);
    }
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.keys(value).sort().filter((key) => value[key] !== undefined).map((key) => [key, normalize(value[key])]));
    }
    return value;
  };
  const normalized = JSON.stringify(normalize(settings));
  return { fingerprint: createHash('sha256').update(normalized).digest('hex'), references };
}
