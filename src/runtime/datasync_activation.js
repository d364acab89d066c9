'use strict';
// CloudFormation custom resource that activates the DataSync agent running on an EC2 instance.
//
// The function is the resource's ServiceToken (no CDK Provider framework), so it answers
// CloudFormation itself with a PUT to event.ResponseURL. It always answers SUCCESS: an agent
// that cannot be activated gets a placeholder ARN and ActivationSuccess 'false', so the stack
// never fails or hangs because of an agent that has not booted or cannot be reached.

const http = require('node:http');
const https = require('node:https');
const {
  DataSyncClient,
  CreateAgentCommand,
  DeleteAgentCommand,
  DescribeAgentCommand,
} = require('@aws-sdk/client-datasync');

const PLACEHOLDER_PREFIX = 'agent-placeholder-';
// The agent's own pattern for activation keys, e.g. ABCDE-12345-FGHIJ-67890-KLMNO.
const ACTIVATION_KEY = /^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$/;
const AGENT_ARN = /^arn:[^:]+:datasync:[^:]+:\d{12}:agent\/agent-[0-9a-z]+$/;
// Time kept back for a CreateAgent call and for answering CloudFormation after the last attempt.
const CREATE_AGENT_ALLOWANCE_MS = 15000;
const RESPONSE_ALLOWANCE_MS = 5000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function numberOr(value, fallback) {
  const parsed = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
}

function readSettings(props = {}) {
  return {
    agentIp: props.AgentIp,
    agentPort: numberOr(props.AgentPort, 80),
    agentName: props.AgentName,
    region: props.ActivationRegion || process.env.AWS_REGION,
    initialWaitMs: numberOr(props.InitialWaitSeconds, 90) * 1000,
    retryIntervalMs: numberOr(props.RetryIntervalSeconds, 45) * 1000,
    maxAttempts: Math.max(1, Math.floor(numberOr(props.MaxAttempts, 10))),
    httpTimeoutMs: numberOr(props.HttpTimeoutSeconds, 10) * 1000,
    tags: Array.isArray(props.Tags) ? props.Tags : [],
  };
}

function isPlaceholderArn(arn) {
  return typeof arn === 'string' && arn.includes(`:agent/${PLACEHOLDER_PREFIX}`);
}

function isRealAgentArn(arn) {
  return typeof arn === 'string' && AGENT_ARN.test(arn) && !isPlaceholderArn(arn);
}

// Partition and account come from the function's own ARN, so nothing is hard-coded.
function placeholderArn(invokedFunctionArn, region, now = Date.now()) {
  const [, partition, , , account] = String(invokedFunctionArn).split(':');
  return `arn:${partition || 'aws'}:datasync:${region}:${account || 'unknown'}:agent/${PLACEHOLDER_PREFIX}${now}`;
}

function activationUrl({ agentIp, agentPort, region }) {
  const host = agentPort === 80 ? agentIp : `${agentIp}:${agentPort}`;
  return `http://${host}/?gatewayType=SYNC&activationRegion=${encodeURIComponent(region)}&no_redirect`;
}

// One HTTP(S) request with a hard deadline; resolves { statusCode, body }.
function request(url, { method = 'GET', headers = {}, body, timeoutMs }) {
  const client = new URL(url).protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    // agent: false opens a fresh connection that closes afterwards, so no socket outlives the call.
    const req = client.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ statusCode: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)), timeoutMs);
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });
}

async function fetchActivationKey(settings) {
  const { statusCode, body } = await request(activationUrl(settings), { timeoutMs: settings.httpTimeoutMs });
  const key = body.trim();
  if (statusCode !== 200) throw new Error(`agent answered HTTP ${statusCode}`);
  if (!ACTIVATION_KEY.test(key)) throw new Error(`agent answer is not an activation key: ${JSON.stringify(key.slice(0, 60))}`);
  return key;
}

async function createAgent(datasync, settings, activationKey) {
  const tags = settings.agentName ? [{ Key: 'Name', Value: settings.agentName }, ...settings.tags] : settings.tags;
  const response = await datasync.send(new CreateAgentCommand({
    ActivationKey: activationKey,
    AgentName: settings.agentName,
    Tags: tags.length > 0 ? tags : undefined,
  }));
  return response.AgentArn;
}

// Returns the new agent ARN, or { failure } explaining why there is none.
async function activate(datasync, settings, context) {
  const attemptMs = settings.httpTimeoutMs + CREATE_AGENT_ALLOWANCE_MS + RESPONSE_ALLOWANCE_MS;
  let lastError = 'no attempt was made';
  for (let attempt = 1; attempt <= settings.maxAttempts; attempt++) {
    // The agent needs time to boot before the first attempt; later attempts are spaced out.
    const waitMs = attempt === 1 ? settings.initialWaitMs : settings.retryIntervalMs;
    const remainingMs = context.getRemainingTimeInMillis();
    if (remainingMs < waitMs + attemptMs) {
      console.log(`Activation attempt ${attempt}/${settings.maxAttempts}: skipped, ${remainingMs} ms left is not enough for another attempt`);
      return { failure: `stopped before attempt ${attempt} for lack of time (last error: ${lastError})` };
    }
    await sleep(waitMs);
    try {
      const key = await fetchActivationKey(settings);
      const agentArn = await createAgent(datasync, settings, key);
      console.log(`Activation attempt ${attempt}/${settings.maxAttempts}: activated ${agentArn}`);
      return { agentArn };
    } catch (error) {
      lastError = describeError(error);
      console.log(`Activation attempt ${attempt}/${settings.maxAttempts}: failed, ${lastError}`);
    }
  }
  return { failure: `all ${settings.maxAttempts} attempts failed (last error: ${lastError})` };
}

// 'InvalidRequestException: Agent not found', 'connect ECONNREFUSED 10.0.1.20:80', ...
function describeError(error) {
  const message = error?.message || String(error);
  const code = error?.code || error?.cause?.code || (error?.name !== 'Error' ? error?.name : undefined);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

function activatedResult(agentArn, message) {
  return { physicalResourceId: agentArn, data: { AgentArn: agentArn, ActivationSuccess: 'true', Message: message } };
}

function placeholderResult(context, settings, reason) {
  const arn = placeholderArn(context.invokedFunctionArn, settings.region);
  const message = `DataSync agent at ${settings.agentIp} was not activated: ${reason}. `
    + `Activate it manually: from inside the VPC, GET ${activationUrl(settings)} for a key, then run `
    + `"aws datasync create-agent --region ${settings.region} --activation-key <key>" and use the new agent ARN.`;
  return { physicalResourceId: arn, data: { AgentArn: arn, ActivationSuccess: 'false', Message: message } };
}

async function onCreate(event, context, datasync, settings) {
  if (!settings.agentIp) return placeholderResult(context, settings, 'the AgentIp property is missing');
  const { agentArn, failure } = await activate(datasync, settings, context);
  return agentArn
    ? activatedResult(agentArn, `DataSync agent activated as ${agentArn}`)
    : placeholderResult(context, settings, failure);
}

async function agentExists(datasync, agentArn) {
  try {
    const agent = await datasync.send(new DescribeAgentCommand({ AgentArn: agentArn }));
    console.log(`Agent ${agentArn} exists with status ${agent.Status}`);
    return true;
  } catch (error) {
    console.log(`Agent ${agentArn} cannot be described: ${describeError(error)}`);
    return false;
  }
}

function agentAddressChanged(event) {
  const before = event.OldResourceProperties || {};
  const after = event.ResourceProperties || {};
  return before.AgentIp !== after.AgentIp || (before.AgentPort || '80') !== (after.AgentPort || '80');
}

async function onUpdate(event, context, datasync, settings) {
  const oldArn = event.PhysicalResourceId;
  // A new address means a new agent machine, which needs its own activation.
  if (isRealAgentArn(oldArn) && !agentAddressChanged(event) && await agentExists(datasync, oldArn)) {
    return activatedResult(oldArn, `DataSync agent ${oldArn} is already activated`);
  }
  const result = await onCreate(event, context, datasync, settings);
  // Never swap a real agent ARN for a placeholder: CloudFormation would then delete that agent.
  if (result.data.ActivationSuccess === 'false' && isRealAgentArn(oldArn)) {
    return keepOldAgent(oldArn, result.data.Message);
  }
  return result;
}

function keepOldAgent(oldArn, message) {
  return { physicalResourceId: oldArn, data: { AgentArn: oldArn, ActivationSuccess: 'false', Message: message } };
}

async function onDelete(event, datasync) {
  const arn = event.PhysicalResourceId;
  if (isRealAgentArn(arn)) {
    try {
      await datasync.send(new DeleteAgentCommand({ AgentArn: arn }));
      console.log(`Deleted agent ${arn}`);
    } catch (error) {
      console.log(`Could not delete agent ${arn}, ignoring: ${describeError(error)}`);
    }
  } else {
    console.log(`Nothing to delete for ${arn}`);
  }
  return { physicalResourceId: arn, data: {} };
}

// Whatever went wrong, the stack gets an answer it can live with.
function fallbackResult(event, context, settings, error) {
  if (event.RequestType === 'Delete') return { physicalResourceId: event.PhysicalResourceId, data: {} };
  const placeholder = placeholderResult(context, settings, `unexpected error: ${describeError(error)}`);
  if (event.RequestType === 'Update' && isRealAgentArn(event.PhysicalResourceId)) {
    return keepOldAgent(event.PhysicalResourceId, placeholder.data.Message);
  }
  return placeholder;
}

function responseBody(event, context, result) {
  return JSON.stringify({
    Status: 'SUCCESS',
    Reason: result.data.Message ? result.data.Message.slice(0, 1000) : `See CloudWatch Logs: ${context.logStreamName}`,
    PhysicalResourceId: result.physicalResourceId || event.LogicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    NoEcho: false,
    Data: result.data,
  });
}

async function sendResponse(event, body, tries = 3) {
  // The presigned URL is signed for an empty Content-Type, so it must be sent empty.
  const headers = { 'Content-Type': '', 'Content-Length': Buffer.byteLength(body) };
  for (let attempt = 1; ; attempt++) {
    try {
      const { statusCode } = await request(event.ResponseURL, { method: 'PUT', headers, body, timeoutMs: 10000 });
      if (statusCode >= 200 && statusCode < 300) return;
      throw new Error(`CloudFormation response URL answered HTTP ${statusCode}`);
    } catch (error) {
      console.log(`Sending the response failed (try ${attempt}/${tries}): ${describeError(error)}`);
      if (attempt >= tries) throw error;
      await sleep(1000);
    }
  }
}

async function handleRequest(event, context, settings) {
  const datasync = new DataSyncClient({ region: settings.region });
  switch (event.RequestType) {
    case 'Create': return onCreate(event, context, datasync, settings);
    case 'Update': return onUpdate(event, context, datasync, settings);
    case 'Delete': return onDelete(event, datasync);
    default: throw new Error(`unknown request type ${event.RequestType}`);
  }
}

exports.handler = async (event, context) => {
  console.log(`${event.RequestType} ${event.LogicalResourceId} (${event.PhysicalResourceId || 'new'}) `
    + JSON.stringify(event.ResourceProperties || {}));
  let result;
  let settings = { region: process.env.AWS_REGION };
  try {
    settings = readSettings(event.ResourceProperties);
    result = await handleRequest(event, context, settings);
  } catch (error) {
    console.error('Unexpected error, answering SUCCESS anyway:', error);
    result = fallbackResult(event, context, settings, error);
  }
  const body = responseBody(event, context, result);
  console.log(`Response: ${body}`);
  await sendResponse(event, body);
};

// Exported for the tests.
exports.activationUrl = activationUrl;
exports.isPlaceholderArn = isPlaceholderArn;
exports.isRealAgentArn = isRealAgentArn;
exports.placeholderArn = placeholderArn;
exports.readSettings = readSettings;
