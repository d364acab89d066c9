import { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { TapStack } from '../integ/tap-stack';
const app = new App({ outdir: '/tmp/nag/out' });
new TapStack(app, 'TapStack');
app.synth();
const rows: string[] = [];
for (const pack of [new AwsSolutionsChecks(), new NIST80053R5Checks()]) {
  const report = pack.validateScope(app);
  for (const v of report.violations) {
    for (const r of v.violatingResources) {
      rows.push(`${v.ruleName}\t${v.severity}\t${(r as any).constructPath ?? ''}\t${r.resourceLogicalId}`);
    }
  }
}
console.log(rows.join('\n'));
console.log('TOTAL', rows.length);
