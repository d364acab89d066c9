import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Context that every app of the test run reads (CDK_CONTEXT_JSON, merged over what an app sets itself). Every
 * CloudFormation element records the stack trace of its creation unless the context turns it off, and under jest each
 * trace goes through jest's source maps: about an eighth of every synthesis in a CPU profile. No test reads the
 * traces, and the example app records none either (integ/app.ts).
 */
export const TEST_RUN_CONTEXT = { 'aws:cdk:disable-creation-stack-traces': true };

/**
 * Every synthesis without an outdir writes its cloud assembly, asset copies included (tens of MB), into a new
 * directory under the system temp dir, and nothing removes them. The test workers get a temp dir of their own
 * (they inherit TMPDIR), which the global teardown removes when the run ends, so repeated runs do not fill the disk.
 * They also inherit TEST_RUN_CONTEXT.
 */
export default function setup(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-migration-pipeline-tests-'));
  // jest runs the global setup and teardown in one context: the teardown finds these values here.
  (globalThis as TestRunTempDir).testRunTempDir = { dir, previousTmpdir: process.env.TMPDIR, previousContext: process.env.CDK_CONTEXT_JSON };
  process.env.TMPDIR = dir;
  const context = process.env.CDK_CONTEXT_JSON ? JSON.parse(process.env.CDK_CONTEXT_JSON) : {};
  process.env.CDK_CONTEXT_JSON = JSON.stringify({ ...context, ...TEST_RUN_CONTEXT });
}

export interface TestRunTempDir {
  testRunTempDir?: { dir: string; previousTmpdir?: string; previousContext?: string };
}
