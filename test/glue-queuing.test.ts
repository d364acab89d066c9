import { describe, test } from '@jest/globals';
import { Template } from 'aws-cdk-lib/assertions';
import { synthPipeline } from './pipeline-fixture';

// "AWS::Glue::Job", CloudFormation User Guide: JobRunQueuingEnabled; "AWS Glue job run statuses", Glue Developer Guide:
// with job run queuing, runs beyond MaxConcurrentRuns wait (WAITING) instead of failing with ConcurrentRunsExceededException.
describe('validation runs beyond the job\'s concurrency are queued, so a burst of files is not refused', () => {
  test('job run queuing is on by default, next to ten concurrent runs', () => {
    Template.fromStack(synthPipeline().pipeline.nestedStacks.GlueStack).hasResourceProperties('AWS::Glue::Job', {
      JobRunQueuingEnabled: true,
      ExecutionProperty: { MaxConcurrentRuns: 10 },
    });
  });

  test('glue.jobRunQueuing: false turns it off', () => {
    Template.fromStack(synthPipeline({ glue: { jobRunQueuing: false } }).pipeline.nestedStacks.GlueStack).hasResourceProperties('AWS::Glue::Job', {
      JobRunQueuingEnabled: false,
    });
  });
});
