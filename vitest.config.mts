import { defineConfig } from 'vitest/config';

// The TypeScript tests. Most of their time goes into loading aws-cdk-lib and synthesizing pipelines, so the test
// files of a worker share one module cache (isolate: false). The price is that a test file must leave no global
// state behind: tests that change process.env restore it, and spies are restored after each test (restoreMocks).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    isolate: false,
    pool: 'forks',
    clearMocks: true,
    restoreMocks: true,
    // Synthesizing a pipeline cold takes a few seconds on a small machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests read and compare; nothing in the test command may write or rewrite an expectation.
    update: false,
  },
});
