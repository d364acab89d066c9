/**
 * The context every app of the jest run reads (test/global-setup.ts): elements record no creation stack trace, which
 * under jest costs about an eighth of each synthesis. An app's own context still applies beside it.
 */
import { describe, expect, test } from '@jest/globals';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { TEST_RUN_CONTEXT } from './global-setup';

const CREATION_STACK = 'aws:cdk:creationStack';

describe('the jest run context', () => {
  test('reaches every app: elements record no creation stack trace', () => {
    const app = new App({ context: { 'team:setting': 'kept' } });
    const resource = new CfnResource(new Stack(app, 'Stack'), 'Resource', { type: 'AWS::SNS::Topic' });
    expect(JSON.parse(process.env.CDK_CONTEXT_JSON ?? '{}')).toMatchObject(TEST_RUN_CONTEXT);
    expect(resource.node.metadata.map((entry) => entry.type)).not.toContain(CREATION_STACK);
    expect(app.node.tryGetContext('team:setting')).toBe('kept');
  });

  test('without it, an element records its creation stack trace (so the test above can fail)', () => {
    const app = new App({ postCliContext: { 'aws:cdk:disable-creation-stack-traces': false } });
    const resource = new CfnResource(new Stack(app, 'Stack'), 'Resource', { type: 'AWS::SNS::Topic' });
    expect(resource.node.metadata.map((entry) => entry.type)).toContain(CREATION_STACK);
  });
});
