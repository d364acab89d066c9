import * as fs from 'fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TapStack } from '../integ/tap-stack';
test('dump', () => {
  const app = new App(); const stack = new TapStack(app, 'TapStack'); app.synth();
  fs.writeFileSync('/tmp/iamdump/Root.json', JSON.stringify(Template.fromStack(stack).toJSON(), null, 1));
  for (const [n, s] of Object.entries(stack.pipeline.nestedStacks)) fs.writeFileSync(`/tmp/iamdump/${n}.json`, JSON.stringify(Template.fromStack(s).toJSON(), null, 1));
});
