import * as cdk from 'aws-cdk-lib';
import { TapStack } from './tap-stack';

// The example's assembly leaves out two records that only tools for debugging read: the stack trace of every
// CloudFormation element's creation (several hundred; `CDK_DEBUG=true` records them again) and the construct tree
// (tree.json). Together they were a sixth of the app's synthesis time (README, Performance).
const app = new cdk.App({
  treeMetadata: false,
  context: { 'aws:cdk:disable-creation-stack-traces': true },
});
new TapStack(app, 'TapStack');
app.synth();
