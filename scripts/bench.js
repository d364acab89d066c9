#!/usr/bin/env node
// Times, in one run, the example app's synthesis against an empty one-bucket app synthesized through the same CLI,
// and the whole test command; prints medians of several runs against their goals.
// Usage: npx projen bench   (BENCH_SYNTH_RUNS, default 5; BENCH_TEST_RUNS, default 3; 0 skips)
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const SYNTH_RATIO_GOAL = 2;
const TEST_SECONDS_GOAL = 37;

function timeRun(command) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, { shell: true, stdio: 'ignore', env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' } });
  if (result.status !== 0) {
    throw new Error(`'${command}' failed with exit code ${result.status}`);
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function describe(label, seconds) {
  const value = median(seconds);
  console.log(`${label}: median ${value.toFixed(2)} s over ${seconds.length} runs (${seconds.map((s) => s.toFixed(2)).join(', ')})`);
  return value;
}

function benchSynth(runs) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const example = [];
  const empty = [];
  // Interleaved, so that both see the same machine load.
  for (let i = 0; i < runs; i++) {
    example.push(timeRun(`npx cdk synth --quiet --output ${out}/example`));
    empty.push(timeRun(`npx cdk synth --quiet --output ${out}/empty --app "npx ts-node --swc scripts/bench-empty-app.ts"`));
  }
  fs.rmSync(out, { recursive: true, force: true });
  const ratio = describe('npx cdk synth (example app)', example) / describe('npx cdk synth (empty one-bucket app)', empty);
  console.log(`example / empty: ${ratio.toFixed(2)}x (goal <= ${SYNTH_RATIO_GOAL}x) ${ratio <= SYNTH_RATIO_GOAL ? 'met' : 'NOT met'}`);
}

function benchTest(runs) {
  const value = describe('npx projen test', Array.from({ length: runs }, () => timeRun('npx projen test')));
  console.log(`test command: ${value.toFixed(1)} s (goal <= ${TEST_SECONDS_GOAL} s) ${value <= TEST_SECONDS_GOAL ? 'met' : 'NOT met'}`);
}

const synthRuns = Number(process.env.BENCH_SYNTH_RUNS ?? 5);
const testRuns = Number(process.env.BENCH_TEST_RUNS ?? 3);
if (synthRuns > 0) {
  benchSynth(synthRuns);
}
if (testRuns > 0) {
  benchTest(testRuns);
}
