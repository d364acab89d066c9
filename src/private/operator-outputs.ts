import { Fn, Stack } from 'aws-cdk-lib';
import type { DataSyncAgent } from '../datasync';
import type { MigrationPipeline } from '../migration-pipeline';

/** One stack output: its value and what an operator does with it. */
export interface OperatorOutput {
  readonly value: string;
  readonly description: string;
}

/**
 * The values an operator needs after deployment, by output name. The README's after-deployment steps and
 * runbook name these outputs, so the names are part of the public contract.
 */
export function operatorOutputs(p: MigrationPipeline): Record<string, OperatorOutput> {
  const output = (value: string, description: string): OperatorOutput => ({ value, description });
  return {
    ...commonOutputs(p, output),
    ...(p.dataSync ? dataSyncOutputs(p, p.dataSync, output) : {}),
  };
}

type OutputMaker = (value: string, description: string) => OperatorOutput;

/** The outputs every pipeline has. */
function commonOutputs(p: MigrationPipeline, output: OutputMaker): Record<string, OperatorOutput> {
  return {
    VpcId: output(p.network.vpc.vpcId, 'The pipeline VPC'),
    DataBucketName: output(p.storage.dataBucket.bucketName, 'Upload files under incoming/ (or let DataSync do it) to start a validation'),
    ScriptBucketName: output(p.storage.scriptBucket.bucketName, 'Holds scripts/validate.py'),
    StateMachineArn: output(p.orchestration.stateMachine.stateMachineArn, 'The migration state machine'),
    CutoverStateMachineArn: output(p.cutover.stateMachine.stateMachineArn, 'Start it once the applications stopped writing to the source'),
    OpenSearchDomainEndpoint: output(p.logging.openSearchDomain.domainEndpoint, 'The audit domain (VPC endpoint)'),
    ValidationTopicArn: output(p.messaging.validationTopic.topicArn, 'Validation results and migration outcomes'),
    AlertTopicArn: output(p.messaging.alertTopic.topicArn, 'Remediation alerts'),
    GlueJobName: output(p.glue.jobName, 'The validation job'),
    ReplicationTaskArn: output(p.dms.replicationTask.ref, 'The DMS task'),
    AuroraWriterEndpoint: output(p.database.auroraCluster.clusterEndpoint.hostname, 'Aurora writer endpoint'),
    AuroraReaderEndpoint: output(p.database.auroraCluster.clusterReadEndpoint.hostname, 'Aurora reader endpoint'),
    AuroraSecretArn: output(p.database.secret.secretArn, 'Aurora master credentials'),
    SourceSecretArn: output(p.dms.sourceSecret.secretArn, p.dms.sourceSecretProvided
      ? 'The on-premises MySQL secret given as dms.sourceSecret; DMS reads username, password, host and port from it'
      : 'Fill in the on-premises MySQL username and password here before the first run'),
  };
}

/** The DataSync agent's outputs (only with the agent). */
function dataSyncOutputs(p: MigrationPipeline, dataSync: DataSyncAgent, output: OutputMaker): Record<string, OperatorOutput> {
  return {
    DataSyncAgentArn: output(dataSync.agentArn, 'The agent ARN, or a placeholder when activation did not succeed'),
    DataSyncInstanceId: output(dataSync.instance.instanceId, 'The agent EC2 instance (activate it manually when ActivationSuccess is false)'),
    DataSyncActivationSuccess: output(dataSync.activationSuccess, 'true when the agent was activated automatically'),
    DataSyncS3LocationArn: output(dataSync.s3Location.attrLocationArn, 'DataSync destination (incoming/ of the data bucket)'),
    DataSyncSetupInstructions: output(
      Fn.join('', [
        'If DataSyncActivationSuccess is false: get a key with curl "http://', dataSync.instance.instancePrivateIp,
        '/?gatewayType=SYNC&activationRegion=', Stack.of(p).region, '&no_redirect" from inside the VPC, then run ',
        'aws datasync create-agent --activation-key KEY --agent-name migration-agent-', p.environmentSuffix,
      ]),
      'How to finish the DataSync agent setup',
    ),
  };
}
