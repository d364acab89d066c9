/**
 * The guard that stops the DMS task before CloudFormation modifies or deletes it.
 *
 * DMS: "ModifyReplicationTask" and "DeleteReplicationTask" (DMS API Reference) refuse a running task.
 * CloudFormation: "DependsOn attribute" (CloudFormation User Guide) — a resource is created and updated after the
 * resources it depends on, and deleted before them. Hence BeforeUpdate is depended on by everything DMS refuses
 * to change under a running task, and BeforeDelete depends on the task.
 */
import * as fs from 'fs';
import * as path from 'path';
import { describe, test, expect } from '@jest/globals';
import { Tags } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DmsReplication, MigrationPipelineProps } from '../src';
import { buildPipeline, synthPipeline } from './pipeline-fixture';

type Resources = Record<string, { Type: string; Properties?: any; DependsOn?: string[] }>;

function dmsResources(props: MigrationPipelineProps = {}): Resources {
  return Template.fromStack(synthPipeline(props).pipeline.nestedStacks.DMSStack).toJSON().Resources;
}

const idOf = (resources: Resources, type: string, match: (id: string) => boolean = () => true) => {
  const ids = Object.keys(resources).filter((id) => resources[id].Type === type && match(id));
  expect(ids).toHaveLength(1);
  return ids[0];
};
const guardIds = (resources: Resources) => ({
  beforeUpdate: idOf(resources, 'Custom::DmsTaskStopGuard', (id) => id.includes('BeforeUpdate')),
  beforeDelete: idOf(resources, 'Custom::DmsTaskStopGuard', (id) => id.includes('BeforeDelete')),
  afterUpdate: idOf(resources, 'Custom::DmsTaskStopGuard', (id) => id.includes('AfterUpdate')),
});
const fingerprint = (resources: Resources) => resources[guardIds(resources).beforeUpdate].Properties.Fingerprint;

describe('DMS task stop guard', () => {
  const resources = dmsResources();
  const { beforeUpdate, beforeDelete, afterUpdate } = guardIds(resources);
  const task = idOf(resources, 'AWS::DMS::ReplicationTask');

  test('the task, both endpoints and the instance wait for BeforeUpdate, so it is updated first', () => {
    const guarded = Object.keys(resources).filter((id) =>
      ['AWS::DMS::ReplicationTask', 'AWS::DMS::Endpoint', 'AWS::DMS::ReplicationInstance'].includes(resources[id].Type));
    expect(guarded).toHaveLength(4);
    for (const id of guarded) {
      expect(resources[id].DependsOn).toContain(beforeUpdate);
    }
  });

  test('BeforeUpdate names the task by identifier and references none of the resources it guards', () => {
    const properties = JSON.stringify(resources[beforeUpdate].Properties);
    expect(resources[beforeUpdate].Properties.ReplicationTaskIdentifier).toBe('migration-task-dev');
    for (const id of Object.keys(resources).filter((i) => resources[i].Type.startsWith('AWS::DMS::') && resources[i].Type !== 'AWS::DMS::ReplicationSubnetGroup')) {
      expect(properties).not.toContain(`"${id}"`);
    }
  });

  test('BeforeDelete references the task, so CloudFormation deletes it before the task', () => {
    expect(resources[beforeDelete].Properties.ReplicationTaskArn).toEqual({ Ref: task });
  });

  test('the function\'s own policy, which all three resources wait for, lets it stop, resume and tag tasks and hold the lease', () => {
    // test/upgrade-safety.ts: a policy naming the task would be updated only after BeforeUpdate ran.
    expect(Object.keys(resources).filter((id) => id.includes('StopTaskPolicy'))).toEqual([]);
    const fn = idOf(resources, 'AWS::Lambda::Function', (id) => id.includes('TaskStopGuard'));
    const [policy] = (resources[fn].DependsOn ?? []).filter((id: string) => id.includes('DefaultPolicy'));
    const statements = resources[policy].Properties?.PolicyDocument.Statement;
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({
        Action: ['dms:StopReplicationTask', 'dms:StartReplicationTask', 'dms:AddTagsToResource', 'dms:RemoveTagsFromResource'],
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':dms:us-west-2:', { Ref: 'AWS::AccountId' }, ':task:*']] },
      }),
      expect.objectContaining({
        Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        Resource: [{ 'Fn::GetAtt': [expect.stringMatching(/^DmsTaskLease/), 'Arn'] }],
      }),
    ]));
    expect(JSON.stringify(statements)).not.toContain(task);
    expect(resources[fn].Properties.Environment.Variables.LEASE_TABLE_NAME).toEqual({ Ref: expect.stringMatching(/^DmsTaskLease/) });
    expect(resources[fn].Properties.FunctionName).toBe('migration-dms-task-guard-dev');
    // Long enough for the 13-minute wait and the answer to CloudFormation.
    expect(resources[fn].Properties.Timeout).toBe(840);
    expect(resources[beforeUpdate].Properties.MaxWaitSeconds).toBe('780');
    // The template carries exactly the code test/python/test_dms_task_guard.py executes.
    expect(resources[fn].Properties.Code.ZipFile).toBe(fs.readFileSync(path.join(__dirname, '..', 'src', 'runtime', 'dms_task_guard.py'), 'utf-8'));
  });

  test('AfterUpdate waits for the task, its endpoints and its instance, and changes whenever BeforeUpdate does', () => {
    const guarded = Object.keys(resources).filter((id) =>
      ['AWS::DMS::ReplicationTask', 'AWS::DMS::Endpoint', 'AWS::DMS::ReplicationInstance'].includes(resources[id].Type));
    expect(resources[afterUpdate].DependsOn).toEqual(expect.arrayContaining(guarded));
    expect(resources[afterUpdate].Properties.Action).toBe('ClearDeploymentMarker');
    expect(resources[afterUpdate].Properties.Fingerprint).toBe(resources[beforeUpdate].Properties.Fingerprint);
    expect(resources[afterUpdate].Properties.References).toEqual(resources[beforeUpdate].Properties.References);
    // The guard's Python code and the state machine spell the marker the same way.
    const code = fs.readFileSync(path.join(__dirname, '..', 'src', 'runtime', 'dms_task_guard.py'), 'utf-8');
    expect(code).toContain('MARKER_TAG = "migration-pipeline:stopped-for-deployment"');
    expect(code).toContain('CLEAR_MARKER = "ClearDeploymentMarker"');
  });

  describe('the fingerprint changes exactly when a guarded resource changes', () => {
    const base = fingerprint(resources);
    const mappings = (schema: string) => JSON.stringify({
      rules: [{
        'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'one-schema', 'object-locator': { 'schema-name': schema, 'table-name': '%' }, 'rule-action': 'include',
      }],
    });

    test.each<[string, MigrationPipelineProps]>([
      ['the table mappings', { dms: { tableMappings: mappings('sales') } }],
      ['the task settings (data validation off)', { dms: { enableDataValidation: false } }],
      ['the source endpoint (SSL mode)', { dms: { sourceSslMode: 'verify-full' } }],
      ['the replication instance (class)', { dms: { replicationInstanceClass: 'dms.t3.large' } }],
    ])('changes with %s', (_what, props) => {
      expect(fingerprint(dmsResources(props))).not.toBe(base);
    });

    test('two different table mappings give two different fingerprints', () => {
      expect(fingerprint(dmsResources({ dms: { tableMappings: mappings('sales') } })))
        .not.toBe(fingerprint(dmsResources({ dms: { tableMappings: mappings('billing') } })));
    });

    // The README's escape hatch: an override through the public L1 field, added after the pipeline is built,
    // reaches the template and must stop the task like a prop would.
    test.each<[string, (dms: DmsReplication) => void]>([
      ['the task settings', (d) => d.replicationTask.addPropertyOverride('ReplicationTaskSettings', '{"Logging":{"EnableLogging":false}}')],
      ['the task\'s table mappings', (d) => d.replicationTask.addPropertyOverride('TableMappings', mappings('sales'))],
      ['the instance', (d) => d.replicationInstance.addPropertyOverride('EngineVersion', '3.5.4')],
      ['the source endpoint', (d) => d.sourceEndpoint.addPropertyOverride('MySqlSettings.ServerTimezone', 'UTC')],
      ['the target endpoint', (d) => d.targetEndpoint.addPropertyOverride('ExtraConnectionAttributes', 'parallelLoadThreads=4')],
    ])('changes with an override of %s through addPropertyOverride', (_what, override) => {
      const pipeline = buildPipeline({});
      override(pipeline.dms);
      const overridden = Template.fromStack(pipeline.nestedStacks.DMSStack).toJSON().Resources;
      expect(fingerprint(overridden)).not.toBe(base);
      expect(overridden[guardIds(overridden).afterUpdate].Properties.Fingerprint).toBe(fingerprint(overridden));
    });

    test('stays the same when only the tags change (DMS tags a running task)', () => {
      const pipeline = buildPipeline({});
      Tags.of(pipeline).add('team', 'data');
      expect(fingerprint(Template.fromStack(pipeline.nestedStacks.DMSStack).toJSON().Resources)).toBe(base);
    });

    test('stays the same when nothing DMS refuses to change under a running task changes', () => {
      expect(fingerprint(dmsResources({ glue: { maxRetries: 3 }, functions: { maxRedrives: 2 } }))).toBe(base);
    });
  });
});
