import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Every synthesis without an outdir writes its cloud assembly, asset copies included (tens of MB), into a new
 * directory under the system temp dir, and nothing removes them. The test workers get a temp dir of their own
 * (they inherit TMPDIR), which the global teardown removes when the run ends, so repeated runs do not fill the disk.
 */
export default function setup(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-migration-pipeline-tests-'));
  // jest runs the global setup and teardown in one context: the teardown finds both values here.
  (globalThis as TestRunTempDir).testRunTempDir = { dir, previousTmpdir: process.env.TMPDIR };
  process.env.TMPDIR = dir;
}

export interface TestRunTempDir {
  testRunTempDir?: { dir: string; previousTmpdir?: string };
}
