import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PipelineFixture } from './pipeline-fixture';

/** One resource of a synthesized template, with the stack it belongs to. */
export interface PipelineResource {
  /** The stack's node path, for example 'TestStack/Pipeline/StorageStack'. */
  readonly stack: string;
  readonly id: string;
  readonly resource: any;
}

/** Every resource of the root stack and of every nested stack of a synthesized pipeline. */
export function allResources(fixture: PipelineFixture): PipelineResource[] {
  const stacks: Stack[] = [fixture.stack, ...Object.values(fixture.pipeline.nestedStacks)];
  return stacks.flatMap((stack) => {
    const template = stack === fixture.stack ? fixture.root : Template.fromStack(stack);
    return Object.entries(template.toJSON().Resources ?? {}).map(([id, resource]) => ({ stack: stack.node.path, id, resource }));
  });
}
