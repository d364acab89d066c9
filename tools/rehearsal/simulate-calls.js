#!/usr/bin/env node
/*
 * Evaluates the AWS calls a rehearsal recorded against the policies of the templates, with the IAM policy simulator
 * the project's IAM tests use (@cloud-copilot/iam-simulate).
 *
 * stdin: a JSON list of requests, each
 *   { principal, action, resource, accountId, context: { key: value }, identityPolicies: [{ name, policy }],
 *     resourcePolicy?: policy }
 * stdout: a JSON list, one entry per request: { decision: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied' }
 * or { error: '...' } when the simulator rejects the request as malformed.
 */
const { runSimulation, runUnsafeSimulation } = require('@cloud-copilot/iam-simulate');

async function decide(request) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.accountId },
      contextVariables: request.context ?? {},
    },
    identityPolicies: request.identityPolicies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType !== 'error') {
    return { decision: result.overallResult };
  }
  // The simulator reads the `*` of a resource-type pattern such as DMS's `arn:${Partition}:dms:...:task:*` as a
  // literal character and rejects every real task ARN (no.resource.types); test/iam.test.ts checks the resource
  // types of the DMS calls. For that error only, the request is evaluated without the resource-type check.
  if (result.errors.message === 'no.resource.types' && request.action.startsWith('dms:')) {
    return { decision: runUnsafeSimulation(simulation, {}) };
  }
  return { error: JSON.stringify(result.errors) };
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const requests = JSON.parse(Buffer.concat(chunks).toString('utf-8'));
  const answers = [];
  for (const request of requests) {
    answers.push(await decide(request));
  }
  process.stdout.write(JSON.stringify(answers));
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
