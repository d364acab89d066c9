import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MigrationPipeline, MigrationPipelineProps } from '../src';

/** The spec's nested stacks, by the names the specification gives them. */
export const NESTED_STACK_NAMES = [
  'NetworkStack', 'StorageStack', 'DatabaseStack', 'GlueStack', 'MessagingStack', 'DMSStack',
  'LambdaStack', 'OrchestrationStack', 'DataSyncStack', 'MonitoringStack', 'LoggingStack',
] as const;

export interface PipelineFixture {
  readonly stack: Stack;
  readonly pipeline: MigrationPipeline;
  /** The template of the stack holding the pipeline. */
  readonly root: Template;
  /** The template of one nested stack, by its spec name. */
  nested(name: typeof NESTED_STACK_NAMES[number]): Template;
}

/** Synthesizes one pipeline in a us-west-2 stack (once per test file: synthesis is the slow part). */
export function synthPipeline(props: MigrationPipelineProps = {}, context: Record<string, unknown> = {}): PipelineFixture {
  const app = new App({ context });
  const stack = new Stack(app, 'TestStack', { env: { region: 'us-west-2' } });
  const pipeline = new MigrationPipeline(stack, 'Pipeline', props);
  const cache = new Map<string, Template>();
  return {
    stack,
    pipeline,
    root: Template.fromStack(stack),
    nested(name) {
      if (!cache.has(name)) {
        cache.set(name, Template.fromStack(pipeline.nestedStacks[name]));
      }
      return cache.get(name)!;
    },
  };
}

let defaults: PipelineFixture | undefined;

/**
 * The pipeline with every default, synthesized once per test file (jest loads this module anew for each file), for
 * the tests of a file that only read it; a test that changes the construct tree or a template synthesizes its own.
 */
export function defaultPipeline(): PipelineFixture {
  defaults ??= synthPipeline();
  return defaults;
}

/** Builds a pipeline without keeping it, for tests of props that must be rejected. */
export function buildPipeline(props: MigrationPipelineProps, context: Record<string, unknown> = {}): MigrationPipeline {
  const app = new App({ context });
  const stack = new Stack(app, 'TestStack', { env: { region: 'us-west-2' } });
  return new MigrationPipeline(stack, 'Pipeline', props);
}

/** Builds a pipeline and synthesizes its app, where the construct validations report bad props. */
export function synthesizeWith(props: MigrationPipelineProps, context: Record<string, unknown> = {}) {
  return (buildPipeline(props, context).node.root as App).synth();
}

/**
 * Runs every construct validation of the app, the first step of synthesis, and throws the errors as synthesis
 * reports them ("[path] message"), without writing templates: the fast way to test the props checks (the library's
 * checks are all construct validations; test/input-checks.test.ts shows that a real synthesis reports them).
 */
export function validateWith(props: MigrationPipelineProps, context: Record<string, unknown> = {}): void {
  validatePipeline(buildPipeline(props, context));
}

/** validateWith for a pipeline already built. */
export function validatePipeline(pipeline: MigrationPipeline): void {
  const root = pipeline.node.root;
  const errors = root.node.findAll().flatMap((construct) => construct.node.validate().map((message) => `[${construct.node.path}] ${message}`));
  if (errors.length > 0) {
    throw new Error(`Validation failed with the following errors:\n  ${errors.join('\n  ')}`);
  }
}
