import { describe, test, expect } from '@jest/globals';
import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defaultPipeline, synthesizeWith, synthPipeline } from './pipeline-fixture';
import { auroraMysqlVersion, TapStack } from '../integ/tap-stack';

describe('the DataSync agent keeps its AMI across deployments', () => {
  /*
   * "AWS::EC2::Instance", CloudFormation Template Reference: ImageId and LaunchTemplate require replacement.
   * "Custom resources" / "Custom resource response objects", CloudFormation User Guide: Ref returns the physical
   * resource id the provider answered with, and an unchanged resource is not sent any request.
   */
  const fixture = defaultPipeline();
  const dataSync = fixture.nested('DataSyncStack').toJSON().Resources as Record<string, any>;
  const [instanceId, instance] = Object.entries(dataSync).find(([, r]) => r.Type === 'AWS::EC2::Instance')!;
  const [imageId, image] = Object.entries(dataSync).find(([, r]) => r.Type === 'Custom::DataSyncAgentImage')!;

  test('ImageId is the Ref of a lookup resource, not an SSM parameter resolved on every deployment', () => {
    expect(instance.Properties.ImageId).toEqual({ Ref: imageId });
    const parameters = fixture.nested('DataSyncStack').toJSON().Parameters ?? {};
    expect(Object.values(parameters).filter((p: any) => String(p.Type).startsWith('AWS::SSM::Parameter::Value'))).toEqual([]);
    expect(instanceId).toMatch(/^DataSyncAgentInstance/);
  });

  test('the lookup reads /aws/service/datasync/ami on Create only and keeps the AMI id as its physical id', () => {
    const create = JSON.parse(image.Properties.Create['Fn::Join'] ? image.Properties.Create['Fn::Join'][1].join('') : image.Properties.Create);
    expect(create).toMatchObject({
      service: 'SSM',
      action: 'getParameter',
      parameters: { Name: '/aws/service/datasync/ami' },
      physicalResourceId: { responsePath: 'Parameter.Value' },
    });
    // Without an Update call, CDK's SDK-call handler answers an Update with the physical id it already has.
    expect(image.Properties.Update).toBeUndefined();
  });

  test('a new value of the public parameter cannot change the template: nothing in it carries the value', () => {
    const other = synthPipeline({}, { 'ssm:account=123456789012:parameterName=/aws/service/datasync/ami:region=us-west-2': 'ami-0123456789abcdef0' });
    const otherInstance = Object.values(other.nested('DataSyncStack').toJSON().Resources as Record<string, any>)
      .find((r) => r.Type === 'AWS::EC2::Instance');
    expect(otherInstance.Properties.ImageId).toEqual(instance.Properties.ImageId);
  });

  test('the agent uses version 1 of its launch template, so a changed template (for example a new stack tag) cannot replace it', () => {
    expect(instance.Properties.LaunchTemplate.Version).toBe('1');
  });

  test('a pinned dataSync.amiId is used as it is, with no lookup', () => {
    const pinned = synthPipeline({ dataSync: { amiId: 'ami-0f508ba5fd9db6606' } });
    const resources = Object.values(pinned.nested('DataSyncStack').toJSON().Resources as Record<string, any>);
    expect(resources.find((r) => r.Type === 'AWS::EC2::Instance').Properties.ImageId).toBe('ami-0f508ba5fd9db6606');
    expect(resources.filter((r) => r.Type === 'Custom::DataSyncAgentImage')).toEqual([]);
  });
});

describe('the DataSync S3 location is created after its role has propagated', () => {
  /*
   * "Providing DataSync access to S3 buckets", AWS DataSync User Guide: CreateLocationS3 assumes the bucket-access
   * role; a role created seconds before can still be refused ("Unable to assume role") while IAM propagates it.
   */
  const resources = defaultPipeline().nested('DataSyncStack').toJSON().Resources as Record<string, any>;
  const idOf = (type: string, prefix = '') => Object.entries(resources).find(([id, r]) => r.Type === type && id.startsWith(prefix))![0];
  const location = resources[idOf('AWS::DataSync::LocationS3')];
  const role = idOf('AWS::IAM::Role', 'DataSyncBucketAccessRole');
  const rolePolicy = idOf('AWS::IAM::Policy', 'DataSyncBucketAccessRole');
  const activation = idOf('Custom::DataSyncAgentActivation');

  test('the location waits for the role, its policy and the activation', () => {
    expect(location.DependsOn).toEqual(expect.arrayContaining([role, rolePolicy, activation]));
  });

  test('the activation (and its initial wait) starts only once the role and its policy exist', () => {
    expect(resources[activation].DependsOn).toEqual(expect.arrayContaining([role, rolePolicy]));
    expect(Number(resources[activation].Properties.InitialWaitSeconds)).toBeGreaterThanOrEqual(30);
  });

  test('fails when dataSync.activationInitialWait is shorter than the 30 s IAM propagation allowance', () => {
    expect(() => synthesizeWith({ dataSync: { activationInitialWait: Duration.seconds(10) } }))
      .toThrow(/dataSync\.activationInitialWait.*10 seconds/);
  });
});

describe('the example app\'s Aurora MySQL version', () => {
  // "Long-term support (LTS) and beta releases for Amazon Aurora MySQL", Amazon Aurora User Guide.
  function engineVersion(context: Record<string, string>): string {
    const app = new App({ context });
    const stack = new TapStack(app, 'TapStack');
    const database = Template.fromStack(stack.pipeline.nestedStacks.DatabaseStack);
    const clusters = Object.values(database.findResources('AWS::RDS::DBCluster'));
    expect(clusters).toHaveLength(1);
    return clusters[0].Properties.EngineVersion;
  }

  test('is the specification\'s 3.09.0 by default', () => {
    expect(engineVersion({})).toBe('8.0.mysql_aurora.3.09.0');
  });

  test('comes from the auroraEngineVersion context value (-c auroraEngineVersion=3.10.0)', () => {
    expect(engineVersion({ auroraEngineVersion: '3.10.0' })).toBe('8.0.mysql_aurora.3.10.0');
  });

  test('fails when auroraEngineVersion is not an Aurora MySQL 3 version', () => {
    expect(() => auroraMysqlVersion('8.0.mysql_aurora.3.10.0')).toThrow(/auroraEngineVersion: received '8\.0\.mysql_aurora\.3\.10\.0'.*'3\.10\.0'/);
  });
});

describe('the OpenSearch domain is created after the policy that lets it write its logs', () => {
  /*
   * "Monitoring OpenSearch logs with Amazon CloudWatch Logs", Amazon OpenSearch Service Developer Guide, and
   * "AWS::OpenSearchService::Domain" LogPublishingOption: the domain is refused when the log groups' resource
   * policy does not yet grant es.amazonaws.com logs:CreateLogStream and logs:PutLogEvents.
   */
  test('the domain DependsOn the logs resource policy', () => {
    const resources = defaultPipeline().nested('LoggingStack').toJSON().Resources as Record<string, any>;
    const [policyId] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::Logs::ResourcePolicy')!;
    const domain = Object.values(resources).find((r) => r.Type === 'AWS::OpenSearchService::Domain');
    expect(domain.DependsOn).toContain(policyId);
  });
});
