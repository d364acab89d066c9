#!/usr/bin/env bash
# Builds the npm tarball, installs it into a new CDK app outside the checkout, synthesizes the README's snippet
# there with a concrete account and no AWS credentials, and runs cfn-lint over every template it wrote.
# Usage: bash scripts/consumer-check.sh   (after `npm ci`; needs .venv from `npx projen python:env`)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
npx projen compile > /dev/null
npx projen package:js > /dev/null
tarball=$(ls "$repo"/dist/js/*.tgz)
app=$(mktemp -d)
cd "$app"
npm init -y > /dev/null
cdk_version=$(node -p "require('$repo/node_modules/aws-cdk-lib/package.json').version")
constructs_version=$(node -p "require('$repo/node_modules/constructs/package.json').version")
npm install --no-audit --no-fund --silent "$tarball" "aws-cdk-lib@$cdk_version" "constructs@$constructs_version" ts-node@10.9.2 typescript@5.9.3 @types/node@22.20.7
echo '{ "compilerOptions": { "module": "commonjs", "target": "ES2022", "strict": true, "esModuleInterop": true } }' > tsconfig.json
# The README's "Using it from another CDK app" snippet, with the zones named so that nothing needs a lookup.
cat > app.ts <<'APP'
import { App, Duration, Stack } from 'aws-cdk-lib';
import { MigrationPipeline } from 'cdk-migration-pipeline';

const app = new App();
const stack = new Stack(app, 'Migration', { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: 'us-west-2' } });
const pipeline = new MigrationPipeline(stack, 'Pipeline', {
  environmentSuffix: 'prod',
  network: { availabilityZones: ['us-west-2a', 'us-west-2b'] },
  messaging: { notificationEmail: 'data-team@example.com' },
  dms: { sourceHostname: 'mysql.corp.internal', sourcePort: 3306 },
  glue: { expectedColumns: ['id', 'name'], requiredColumns: ['id'], uniqueKeyColumns: ['id'] },
  orchestration: { pollInterval: Duration.minutes(2) },
});
pipeline.addOperatorOutputs();
APP
env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  CDK_DEFAULT_ACCOUNT=123456789012 CDK_DISABLE_CLI_TELEMETRY=true \
  "$repo/node_modules/.bin/cdk" synth --quiet --app "npx ts-node --transpile-only app.ts" --output cdk.out
echo "outputs: $(node -p "Object.keys(require('./cdk.out/Migration.template.json').Outputs).length")"
"$repo/.venv/bin/python" -c 'import sys; from cfnlint.runner import main; sys.exit(main())' cdk.out/*.template.json
echo "cfn-lint: 0 findings over $(ls cdk.out/*.template.json | wc -l) templates ($app)"
