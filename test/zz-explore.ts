import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { MigrationPipeline } from '../src';
import { FLIPPED, PropsFor, flipped } from './prop-matrix-options';

function synth(propsFor: PropsFor): Record<string, any> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'explore-'));
  const app = new App({ outdir, analyticsReporting: true, context: { 'aws:cdk:disable-asset-staging': true } });
  const stack = new Stack(app, 'Matrix', { env: { region: 'us-west-2' } });
  const shared = new Stack(app, 'Shared', { env: { region: 'us-west-2' } });
  new MigrationPipeline(stack, 'Pipeline', propsFor(shared));
  if (shared.node.children.length === 0) app.node.tryRemoveChild(shared.node.id);
  const asm = app.synth();
  const out: Record<string, any> = {};
  for (const f of fs.readdirSync(asm.directory).filter((f) => f.endsWith('.template.json'))) {
    out[f.replace(/[0-9A-F]{8}\.nested/, '.nested')] = JSON.parse(fs.readFileSync(path.join(asm.directory, f), 'utf-8'));
  }
  fs.rmSync(outdir, { recursive: true, force: true });
  return out;
}
const mode = process.argv[2];
if (mode === 'all') {
  try { synth(flipped(Object.keys(FLIPPED))); console.log('all flipped: OK'); } catch (e) { console.log(String(e)); }
} else {
  const t0 = Date.now();
  const base = synth(() => ({}));
  console.error('baseline ms', Date.now() - t0);
  const result: Record<string, any> = {};
  for (const option of Object.keys(FLIPPED)) {
    const t = synth(FLIPPED[option]);
    result[option] = t;
  }
  fs.writeFileSync('/tmp/i26-single.json', JSON.stringify({ base, result }));
  console.error('done ms', Date.now() - t0);
}
