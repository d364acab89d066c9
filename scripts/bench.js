#!/usr/bin/env node
// Times the example app's synthesis and the whole test command, and prints the median of several runs.
// Usage: npx projen bench   (BENCH_SYNTH_RUNS, default 5; BENCH_TEST_RUNS, default 3; 0 skips)
const { spawnSync } = require('child_process');

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

function bench(label, command, runs) {
  if (runs <= 0) {
    return;
  }
  const seconds = Array.from({ length: runs }, () => timeRun(command));
  console.log(`${label}: median ${median(seconds).toFixed(1)} s over ${runs} runs (${seconds.map((s) => s.toFixed(1)).join(', ')})`);
}

bench('npx cdk synth (example app)', 'npx cdk synth --quiet', Number(process.env.BENCH_SYNTH_RUNS ?? 5));
bench('npx projen test', 'npx projen test', Number(process.env.BENCH_TEST_RUNS ?? 3));
