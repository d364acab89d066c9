#!/usr/bin/env bash
# Runs cdk-nag in a new CDK app outside the checkout, built from the npm tarball, in each way a team runs it:
#   v2-aspect        cdk-nag 2.x as an Aspect: Aspects.of(app).add(new AwsSolutionsChecks()) (and NIST80053R5Checks)
#   v3-plugin        cdk-nag 3 as its README shows: Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
#   v3-plugin-tree   cdk-nag 3 as a validation plugin that is handed the construct tree (validateScope(app))
#   v3-after-synth   cdk-nag 3's validateScope(app) after app.synth() (AwsSolutions and NIST 800-53 rev 5)
# Each form synthesizes the README's pipeline plus one bucket of the app's own that breaks AwsSolutions-S1 and -S10,
# through the CDK CLI (`cdk synth`, exit code and all). The script fails unless every form that can run reports no
# finding inside the pipeline and fails the synthesis on the app's own bucket; v3-plugin must fail loudly, never
# pass silently, while the CDK in use does not hand plugins the construct tree.
# One npm install (both cdk-nag majors, the 2.x one under the alias cdk-nag-v2) serves every form.
# Usage: bash scripts/cdk-nag-consumer-check.sh [--compiled]   (after `npm ci`; --compiled: lib/ already holds this
# checkout's jsii compile, as in the test command, so it is packed as it is)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
start=$(date +%s)
if [ "${1:-}" != --compiled ]; then
  npx projen compile > /dev/null
fi
npx projen package:js > /dev/null
tarball=$(ls "$repo"/dist/js/*.tgz)
app=$(mktemp -d)
cd "$app"
npm init -y > /dev/null
cdk_version=$(node -p "require('$repo/node_modules/aws-cdk-lib/package.json').version")
constructs_version=$(node -p "require('$repo/node_modules/constructs/package.json').version")
nag3_version=$(node -p "require('$repo/node_modules/cdk-nag/package.json').version")
# The last cdk-nag 2.x release; 2.x runs as an Aspect and reads suppressions from the resources' metadata.
nag2_version=2.38.2
npm install --no-audit --no-fund --silent "$tarball" "aws-cdk-lib@$cdk_version" "constructs@$constructs_version" \
  "cdk-nag@$nag3_version" "cdk-nag-v2@npm:cdk-nag@$nag2_version" ts-node@10.9.2 typescript@5.9.3 @types/node@22.20.7
echo '{ "compilerOptions": { "module": "commonjs", "target": "ES2022", "strict": true, "esModuleInterop": true, "skipLibCheck": true } }' > tsconfig.json
cat > app.ts <<'APP'
import { App, Aspects, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { AwsSolutionsChecks as AwsSolutionsChecksV2, NIST80053R5Checks as NIST80053R5ChecksV2 } from 'cdk-nag-v2';
import { MigrationPipeline } from 'cdk-migration-pipeline';

const form = process.env.NAG_FORM;
const app = new App();
const stack = new Stack(app, 'Migration', { env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: 'us-west-2' } });
const pipeline = new MigrationPipeline(stack, 'Pipeline', {
  environmentSuffix: 'prod',
  network: { availabilityZones: ['us-west-2a', 'us-west-2b'] },
  messaging: { notificationEmail: 'data-team@example.com' },
  dms: { sourceHostname: 'mysql.corp.internal', sourcePort: 3306 },
  orchestration: { pollInterval: Duration.minutes(2) },
});
pipeline.addOperatorOutputs();
// The app's own resource: no access logs (AwsSolutions-S1), no SSL-only policy (AwsSolutions-S10).
new s3.Bucket(stack, 'TeamBucket');

if (form === 'v2-aspect') {
  Aspects.of(app).add(new AwsSolutionsChecksV2());
  Aspects.of(app).add(new NIST80053R5ChecksV2());
} else if (form === 'v3-plugin') {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
} else if (form === 'v3-plugin-tree') {
  const checks = new AwsSolutionsChecks();
  Validations.of(app).addPlugins({ name: checks.name, validate: () => checks.validateScope(app) });
}
app.synth();
if (form === 'v3-after-synth') {
  for (const checks of [new AwsSolutionsChecks(), new NIST80053R5Checks()]) {
    const report = checks.validateScope(app);
    for (const violation of report.violations) {
      for (const resource of violation.violatingResources) {
        console.error(`[Error at /${(resource as { constructPath?: string }).constructPath}] ${violation.ruleName}`);
      }
    }
    if (!report.success) {
      process.exitCode = 1;
    }
  }
}
APP

# Prints "<exit code> <findings in the pipeline> <findings on TeamBucket>" for one form; the findings are the CLI's
# "[Error at /path] Rule" and "[Warning at /path] Rule" lines, or the violations of the policy validation report.
run_form() {
  local form=$1 code=0
  rm -rf "cdk.out.$form"
  env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    NAG_FORM="$form" CDK_DEFAULT_ACCOUNT=123456789012 CDK_DISABLE_CLI_TELEMETRY=true \
    "$repo/node_modules/.bin/cdk" synth --quiet --app "npx ts-node --transpile-only app.ts" --output "cdk.out.$form" \
    > "$form.log" 2>&1 || code=$?
  node - "$form" "$code" <<'NODE'
const fs = require('fs');
const [form, code] = process.argv.slice(2);
const paths = [];
const log = fs.readFileSync(`${form}.log`, 'utf8');
// The CLI lists an annotation as "[Error at /path] Rule: ..." or as "ERROR Rule: ...\n   path".
for (const m of log.matchAll(/\[(?:Error|Warning) at \/([^\]]+)\] (?:AwsSolutions|NIST\.800\.53\.R5)-/g)) {
  paths.push(m[1]);
}
for (const m of log.matchAll(/^(?:ERROR|WARN\w*) (?:AwsSolutions|NIST\.800\.53\.R5)-[^\n]*\n\s+(\S+)/gm)) {
  paths.push(m[1]);
}
const report = `cdk.out.${form}/policy-validation-report.json`;
let pluginError = '';
if (fs.existsSync(report)) {
  for (const plugin of JSON.parse(fs.readFileSync(report, 'utf8')).pluginReports ?? []) {
    pluginError ||= plugin.summary?.metadata?.error ?? '';
    for (const violation of plugin.violations ?? []) {
      for (const construct of violation.violatingConstructs ?? []) {
        paths.push(construct.constructPath);
      }
    }
  }
}
const inPipeline = paths.filter((p) => p.startsWith('Migration/Pipeline')).length;
const onTeamBucket = paths.filter((p) => p.startsWith('Migration/TeamBucket')).length;
console.log(`${code} ${inPipeline} ${onTeamBucket} ${pluginError ? 'plugin-error' : 'ran'}`);
NODE
}

failed=0
for form in v2-aspect v3-after-synth v3-plugin-tree v3-plugin; do
  form_start=$(date +%s)
  read -r code in_pipeline on_bucket plugin < <(run_form "$form")
  echo "$form: exit $code, $in_pipeline findings in the pipeline, $on_bucket on the app's own bucket ($plugin, $(( $(date +%s) - form_start )) s)"
  if [ "$plugin" = plugin-error ]; then
    # This CDK does not hand validation plugins the construct tree, so cdk-nag 3's own plugin cannot run at all.
    echo "  cdk-nag 3's plugin could not run: $(grep -m1 -o 'NagPack requires a construct tree[^.]*' "cdk.out.$form/policy-validation-report.json" || echo 'see the report')"
    continue
  fi
  if [ "$in_pipeline" != 0 ]; then
    echo "  FAIL: findings inside the pipeline (see $app/$form.log)"; failed=1
  fi
  if [ "$on_bucket" -lt 2 ]; then
    echo "  FAIL: the app's own bucket must be reported (AwsSolutions-S1 and -S10)"; failed=1
  fi
  # The forms that report through annotations or the app's exit code fail the synthesis; validation plugins write
  # policy-validation-report.json, and `cdk synth` (this CLI) exits 0 whatever they find.
  case "$form" in
    v2-aspect|v3-after-synth) if [ "$code" = 0 ]; then echo "  FAIL: cdk synth succeeded despite the findings"; failed=1; fi ;;
  esac
done
echo "cdk-nag consumer check: $(( $(date +%s) - start )) s in all (aws-cdk-lib $cdk_version, cdk-nag $nag2_version and $nag3_version)"
# The app stays for a look when something failed.
if [ "$failed" = 0 ]; then rm -rf "$app"; else echo "consumer app: $app"; fi
exit $failed
