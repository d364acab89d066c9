import * as fs from 'node:fs';
import type { TestRunTempDir } from './global-setup';

/** Removes the test run's temp dir (see global-setup.ts) and gives TMPDIR and CDK_CONTEXT_JSON back their earlier values. */
export default function teardown(): void {
  const state = (globalThis as TestRunTempDir).testRunTempDir;
  if (!state) {
    throw new Error('global-teardown: the global setup did not run');
  }
  fs.rmSync(state.dir, { recursive: true, force: true });
  restore('TMPDIR', state.previousTmpdir);
  restore('CDK_CONTEXT_JSON', state.previousContext);
}

function restore(name: string, previous: string | undefined): void {
  if (previous === undefined) {
    delete process.env[name];
  } else {
    process.env[name] = previous;
  }
}
