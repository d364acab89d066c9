import * as fs from 'node:fs';
import type { TestRunTempDir } from './global-setup';

/** Removes the test run's temp dir (see global-setup.ts) and gives TMPDIR back its earlier value. */
export default function teardown(): void {
  const state = (globalThis as TestRunTempDir).testRunTempDir;
  if (!state) {
    throw new Error('global-teardown: the global setup did not run');
  }
  fs.rmSync(state.dir, { recursive: true, force: true });
  if (state.previousTmpdir === undefined) {
    delete process.env.TMPDIR;
  } else {
    process.env.TMPDIR = state.previousTmpdir;
  }
}
