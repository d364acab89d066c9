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
const TEST_CPU_SECONDS_GOAL = 60;

/** Wall seconds of one run; with cpu, also its CPU seconds (user + system, every child process included). */
function timeRun(command, { cpu = false } = {}) {
  // bash's `times` prints the shell's own CPU time, then on its second line that of its finished children.
  const script = `${command} >/dev/null 2>&1; status=$?; times; exit $status`;
  const started = process.hrtime.bigint();
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf-8', env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' } });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) {
    throw new Error(`'${command}' failed with exit code ${result.status}`);
  }
  if (!cpu) {
    return wall;
  }
  const children = result.stdout.trim().split('\n').pop();
  const [user, system] = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(([, minutes, seconds]) => Number(minutes) * 60 + Number(seconds));
  return { wall, cpu: user + system };
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
  const measured = Array.from({ length: runs }, () => timeRun('npx projen test', { cpu: true }));
  const wall = describe('npx projen test, wall', measured.map((run) => run.wall));
  const cpu = describe('npx projen test, CPU (user + system)', measured.map((run) => run.cpu));
  console.log(`test command: ${wall.toFixed(1)} s (goal <= ${TEST_SECONDS_GOAL} s) ${wall <= TEST_SECONDS_GOAL ? 'met' : 'NOT met'}`);
  console.log(`test command: ${cpu.toFixed(1)} CPU-s (goal <= ${TEST_CPU_SECONDS_GOAL} CPU-s) ${cpu <= TEST_CPU_SECONDS_GOAL ? 'met' : 'NOT met'}`);
}

const synthRuns = Number(process.env.BENCH_SYNTH_RUNS ?? 5);
const testRuns = Number(process.env.BENCH_TEST_RUNS ?? 3);
if (synthRuns > 0) {
  benchSynth(synthRuns);
}
if (testRuns > 0) {
  benchTest(testRuns);
}
