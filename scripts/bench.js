#!/usr/bin/env node
// Where the time goes, measured in one run: the example app's synthesis against an empty one-bucket app synthesized
// through the same CLI and transpiler, the everyday command (`npx projen test:quick`) and the whole test command
// (`npx projen test`), each in wall and CPU seconds (user + system of every process it starts), the test command per
// step (scripts/parallel.sh writes test-reports/steps.tsv). Prints the ratios to the empty app against their targets,
// then the same as the README's Markdown table. On a machine shared with other work, wall times grow with the load
// and CPU times much less: compare the CPU ratios, measured in the same run.
// Usage: npx projen bench   (BENCH_SYNTH_RUNS, default 5; BENCH_QUICK_RUNS and BENCH_TEST_RUNS, default 1; 0 skips)
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const TARGETS = {
  synthRatio: 1.5, // the example's synthesis, in empty-app syntheses
  quickRatio: 25, // the everyday command, in empty-app syntheses
  testWall: 600, // the whole test command, seconds
  testCpu: 900, // the whole test command, CPU-seconds
};

/** Wall and CPU seconds of one run of a shell command (its output is discarded unless it fails). */
function timeRun(command) {
  // bash's `times` prints the shell's own CPU time, then on its second line that of its finished children.
  const script = `${command} > "$BENCH_LOG" 2>&1; status=$?; times; exit $status`;
  const log = path.join(os.tmpdir(), `bench-${process.pid}.log`);
  const started = process.hrtime.bigint();
  const result = spawnSync('bash', ['-c', script], {
    encoding: 'utf-8',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', BENCH_LOG: log },
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) {
    process.stderr.write(fs.readFileSync(log, 'utf-8'));
    throw new Error(`'${command}' failed with exit code ${result.status}`);
  }
  fs.rmSync(log, { force: true });
  const children = result.stdout.trim().split('\n').pop();
  const [user, system] = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(([, minutes, seconds]) => Number(minutes) * 60 + Number(seconds));
  return { wall, cpu: user + system };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Medians of wall and CPU seconds over the runs. */
const medians = (runs) => ({ wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)), runs: runs.length });

const rows = [];
const row = (what, measured, ratio, target) => rows.push({ what, measured, ratio, target });
const verdict = (value, target, unit) => `≤ ${target} ${unit}: ${value <= target ? 'met' : 'NOT met'}`;
const seconds = ({ wall, cpu }) => `${wall.toFixed(1)} s / ${cpu.toFixed(1)} CPU-s`;
const ratios = (of, base) => `${(of.wall / base.wall).toFixed(2)}x / ${(of.cpu / base.cpu).toFixed(2)}x`;
/** A ratio's target, judged on wall and on CPU time. */
const ratioVerdict = (of, base, target) =>
  `≤ ${target}x: wall ${of.wall / base.wall <= target ? 'met' : 'NOT met'}, CPU ${of.cpu / base.cpu <= target ? 'met' : 'NOT met'}`;

/** The example and the empty app, alternately, so that both see the same machine load. */
function benchSynth(runs) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
  const example = [];
  const empty = [];
  for (let i = 0; i < runs; i++) {
    example.push(timeRun(`npx cdk synth --quiet --output ${out}/example`));
    empty.push(timeRun(`npx cdk synth --quiet --output ${out}/empty --app "npx ts-node --swc scripts/bench-empty-app.ts"`));
  }
  fs.rmSync(out, { recursive: true, force: true });
  const base = medians(empty);
  const synth = medians(example);
  row(`\`npx cdk synth\` of an empty one-bucket app (the unit)`, `${seconds(base)} (median of ${runs})`, '1x', '');
  row('`npx cdk synth` of the example app', `${seconds(synth)} (median of ${runs})`, ratios(synth, base), ratioVerdict(synth, base, TARGETS.synthRatio));
  return base;
}

function benchQuick(runs, base) {
  const quick = medians(Array.from({ length: runs }, () => timeRun('npx projen test:quick')));
  row('`npx projen test:quick` (everyday)', `${seconds(quick)} (${quick.runs} run)`, base ? ratios(quick, base) : '', base ? ratioVerdict(quick, base, TARGETS.quickRatio) : '');
}

/** The steps of the last test command run, from test-reports/steps.tsv. */
function steps() {
  const file = path.join('test-reports', 'steps.tsv');
  return fs.readFileSync(file, 'utf-8').trim().split('\n').map((line) => {
    const [lane, step, status, wall, cpu] = line.split('\t');
    return { lane, step, status: Number(status), wall: Number(wall), cpu: Number(cpu) };
  });
}

function benchTest(runs, base) {
  const test = medians(Array.from({ length: runs }, () => timeRun('npx projen test')));
  row('`npx projen test` (every test and check), wall', `${test.wall.toFixed(1)} s (${test.runs} run)`, base ? `${(test.wall / base.wall).toFixed(0)}x` : '', verdict(test.wall, TARGETS.testWall, 's'));
  row('`npx projen test`, CPU', `${test.cpu.toFixed(1)} CPU-s`, base ? `${(test.cpu / base.cpu).toFixed(0)}x` : '', verdict(test.cpu, TARGETS.testCpu, 'CPU-s'));
  // The steps of the last run, the costliest first.
  for (const s of steps().sort((a, b) => b.cpu - a.cpu)) {
    row(`&nbsp;&nbsp;${s.lane} / ${s.step}`, seconds(s), base ? ratios(s, base) : '', '');
  }
}

const synthRuns = Number(process.env.BENCH_SYNTH_RUNS ?? 5);
const quickRuns = Number(process.env.BENCH_QUICK_RUNS ?? 1);
const testRuns = Number(process.env.BENCH_TEST_RUNS ?? 1);
const started = new Date();
const base = synthRuns > 0 ? benchSynth(synthRuns) : undefined;
if (quickRuns > 0) {
  benchQuick(quickRuns, base);
}
if (testRuns > 0) {
  benchTest(testRuns, base);
}
const load = os.loadavg().map((l) => l.toFixed(1)).join(', ');
console.log(`Measured ${started.toISOString().slice(0, 16)} UTC on ${os.cpus().length} cores; load average at the end ${load}.`);
console.log('Wall / CPU seconds; ratios to the empty app\'s synthesis, wall / CPU.\n');
console.log('| What | Wall / CPU | Ratio to the empty app | Target |');
console.log('| --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.what} | ${r.measured} | ${r.ratio} | ${r.target} |`);
}
