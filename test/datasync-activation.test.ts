import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import {
  CreateAgentCommand,
  DataSyncClient,
  DeleteAgentCommand,
  DescribeAgentCommand,
} from '@aws-sdk/client-datasync';
import { describe, test, expect, beforeEach, afterEach, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';

// The runtime file is plain CommonJS that is inlined into the template, so it has no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const activation = require('../src/runtime/datasync_activation.js');

const FUNCTION_ARN = 'arn:aws:lambda:us-west-2:111122223333:function:agent-activation';
const AGENT_ARN = 'arn:aws:datasync:us-west-2:111122223333:agent/agent-0b0addbeef44baca3';
const NEW_AGENT_ARN = 'arn:aws:datasync:us-west-2:111122223333:agent/agent-0f00dfeed5566aabb';
const OLD_PLACEHOLDER = 'arn:aws:datasync:us-west-2:111122223333:agent/agent-placeholder-1700000000000';
const PLACEHOLDER = /^arn:aws:datasync:us-west-2:111122223333:agent\/agent-placeholder-\d{13}$/;
const KEY_1 = 'AAAAA-11111-BBBBB-22222-CCCCC';
const KEY_2 = 'DDDDD-33333-EEEEE-44444-FFFFF';

const datasync = mockClient(DataSyncClient);

interface Server {
  server: http.Server;
  port: number;
  requests: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }>;
}

const servers: http.Server[] = [];

async function startServer(respond: (res: http.ServerResponse, requestNumber: number) => void): Promise<Server> {
  const requests: Server['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      respond(res, requests.length);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, requests };
}

async function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

// The four ways the agent answers port 80.
const answerKey = (key: string) => (res: http.ServerResponse) => res.end(`${key}\n`);
const answerErrorPage = (res: http.ServerResponse) => {
  res.writeHead(500, { 'Content-Type': 'text/html' });
  res.end('<html><body><h1>500 Internal Server Error</h1></body></html>');
};
const neverAnswer = () => undefined;
async function closedPort(): Promise<number> {
  const { server, port } = await startServer(neverAnswer);
  await closeServer(server);
  return port;
}

let cloudFormation: Server;

function event(requestType: string, agentPort: number, overrides: Record<string, unknown> = {}) {
  return {
    RequestType: requestType,
    ServiceToken: FUNCTION_ARN,
    ResponseURL: `http://127.0.0.1:${cloudFormation.port}/cfn-response?X-Amz-Signature=abc`,
    StackId: 'arn:aws:cloudformation:us-west-2:111122223333:stack/migration/1b2c3d4e',
    RequestId: 'request-0001',
    LogicalResourceId: 'AgentActivation',
    ResourceType: 'Custom::DataSyncAgentActivation',
    ResourceProperties: {
      ServiceToken: FUNCTION_ARN,
      AgentIp: '127.0.0.1',
      AgentPort: String(agentPort),
      AgentName: 'migration-agent',
      ActivationRegion: 'us-west-2',
      InitialWaitSeconds: '0',
      RetryIntervalSeconds: '0',
      MaxAttempts: '3',
      HttpTimeoutSeconds: '0.3',
    },
    ...overrides,
  };
}

function context(remainingMs: () => number = () => 600000) {
  return {
    invokedFunctionArn: FUNCTION_ARN,
    logStreamName: '2024/05/17/[$LATEST]abc',
    getRemainingTimeInMillis: jest.fn(remainingMs),
  };
}

// What CloudFormation received on its presigned URL.
function cloudFormationResponse() {
  expect(cloudFormation.requests).toHaveLength(1);
  const [response] = cloudFormation.requests;
  expect(response.method).toBe('PUT');
  expect(response.url).toBe('/cfn-response?X-Amz-Signature=abc');
  expect(response.headers['content-type']).toBe('');
  expect(response.headers['content-length']).toBe(String(Buffer.byteLength(response.body)));
  return JSON.parse(response.body);
}

const echoed = {
  Status: 'SUCCESS',
  StackId: 'arn:aws:cloudformation:us-west-2:111122223333:stack/migration/1b2c3d4e',
  RequestId: 'request-0001',
  LogicalResourceId: 'AgentActivation',
  NoEcho: false,
};

function createAgentKeys(): string[] {
  return datasync.commandCalls(CreateAgentCommand).map((call) => call.args[0].input.ActivationKey as string);
}

function logLines(): string[] {
  return jest.mocked(console.log).mock.calls.map((args) => args.join(' '));
}

beforeEach(async () => {
  datasync.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
  cloudFormation = await startServer((res) => res.end());
});

afterEach(async () => {
  jest.restoreAllMocks();
  await Promise.all(servers.splice(0).map(closeServer));
});

describe('Create', () => {
  test('activates on the first attempt', async () => {
    const agent = await startServer(answerKey(KEY_1));
    datasync.on(CreateAgentCommand).resolves({ AgentArn: AGENT_ARN });

    await activation.handler(event('Create', agent.port), context());

    expect(agent.requests.map((r) => r.url)).toEqual(['/?gatewayType=SYNC&activationRegion=us-west-2&no_redirect']);
    expect(datasync.commandCalls(CreateAgentCommand).map((call) => call.args[0].input)).toEqual([
      { ActivationKey: KEY_1, AgentName: 'migration-agent', Tags: [{ Key: 'Name', Value: 'migration-agent' }] },
    ]);
    expect(cloudFormationResponse()).toEqual({
      ...echoed,
      Reason: `DataSync agent activated as ${AGENT_ARN}`,
      PhysicalResourceId: AGENT_ARN,
      Data: { AgentArn: AGENT_ARN, ActivationSuccess: 'true', Message: `DataSync agent activated as ${AGENT_ARN}` },
    });
    expect(logLines()).toContain(`Activation attempt 1/3: activated ${AGENT_ARN}`);
  });

  test('activates after failed attempts', async () => {
    const agent = await startServer((res, n) => (n <= 2 ? answerErrorPage(res) : answerKey(KEY_1)(res)));
    datasync.on(CreateAgentCommand).resolves({ AgentArn: AGENT_ARN });

    await activation.handler(event('Create', agent.port), context());

    expect(agent.requests).toHaveLength(3);
    expect(createAgentKeys()).toEqual([KEY_1]);
    const response = cloudFormationResponse();
    expect(response.PhysicalResourceId).toBe(AGENT_ARN);
    expect(response.Data).toEqual({ AgentArn: AGENT_ARN, ActivationSuccess: 'true', Message: `DataSync agent activated as ${AGENT_ARN}` });
    expect(logLines().filter((line) => line.startsWith('Activation attempt'))).toEqual([
      'Activation attempt 1/3: failed, agent answered HTTP 500',
      'Activation attempt 2/3: failed, agent answered HTTP 500',
      `Activation attempt 3/3: activated ${AGENT_ARN}`,
    ]);
  });

  test.each([
    ['an error page', async () => startServer(answerErrorPage), 'agent answered HTTP 500'],
    ['an empty 200 answer', async () => startServer((res) => res.end('')), 'agent answer is not an activation key: ""'],
    ['a 200 HTML page', async () => startServer((res) => res.end('<html>Activation</html>')), 'agent answer is not an activation key: "<html>Activation</html>"'],
    ['no answer', async () => startServer(neverAnswer), 'no answer within 0.3s'],
  ])('answers a placeholder when every attempt gets %s', async (_, startAgent, reason) => {
    const agent = await startAgent();

    await activation.handler(event('Create', agent.port), context());

    expect(agent.requests).toHaveLength(3);
    expect(datasync.commandCalls(CreateAgentCommand)).toHaveLength(0);
    const response = cloudFormationResponse();
    expect(response).toMatchObject({ ...echoed, Data: { ActivationSuccess: 'false' } });
    expect(response.PhysicalResourceId).toMatch(PLACEHOLDER);
    expect(response.Data.AgentArn).toBe(response.PhysicalResourceId);
    expect(response.Data.Message).toBe(
      `DataSync agent at 127.0.0.1 was not activated: all 3 attempts failed (last error: ${reason}). `
      + `Activate it manually: from inside the VPC, GET http://127.0.0.1:${agent.port}/?gatewayType=SYNC&activationRegion=us-west-2&no_redirect`
      + ' for a key, then run "aws datasync create-agent --region us-west-2 --activation-key <key>" and use the new agent ARN.',
    );
    expect(response.Reason).toBe(response.Data.Message);
    expect(logLines()).toContain(`Activation attempt 3/3: failed, ${reason}`);
  });

  test('answers a placeholder when the agent port is closed', async () => {
    const port = await closedPort();

    await activation.handler(event('Create', port), context());

    const response = cloudFormationResponse();
    expect(response.PhysicalResourceId).toMatch(PLACEHOLDER);
    expect(response.Data.ActivationSuccess).toBe('false');
    expect(response.Data.Message).toContain(`all 3 attempts failed (last error: connect ECONNREFUSED 127.0.0.1:${port})`);
    expect(logLines().filter((line) => line.startsWith('Activation attempt'))).toHaveLength(3);
  });

  test('fetches a new key after CreateAgent fails', async () => {
    const agent = await startServer((res, n) => answerKey(n === 1 ? KEY_1 : KEY_2)(res));
    datasync.on(CreateAgentCommand)
      .rejectsOnce(Object.assign(new Error('Activation key is invalid'), { name: 'InvalidRequestException' }))
      .resolves({ AgentArn: AGENT_ARN });

    await activation.handler(event('Create', agent.port), context());

    expect(agent.requests).toHaveLength(2);
    expect(createAgentKeys()).toEqual([KEY_1, KEY_2]);
    expect(cloudFormationResponse()).toMatchObject({ PhysicalResourceId: AGENT_ARN, Data: { AgentArn: AGENT_ARN, ActivationSuccess: 'true' } });
    expect(logLines()).toContain('Activation attempt 1/3: failed, InvalidRequestException: Activation key is invalid');
  });

  test('makes no attempt when the remaining time would not cover one', async () => {
    const agent = await startServer(answerKey(KEY_1));

    await activation.handler(event('Create', agent.port), context(() => 20000));

    expect(agent.requests).toHaveLength(0);
    const response = cloudFormationResponse();
    expect(response.PhysicalResourceId).toMatch(PLACEHOLDER);
    expect(response.Data).toMatchObject({ AgentArn: response.PhysicalResourceId, ActivationSuccess: 'false' });
    expect(response.Data.Message).toContain('stopped before attempt 1 for lack of time (last error: no attempt was made)');
  });

  test('stops retrying when the remaining time runs short', async () => {
    const agent = await startServer(answerErrorPage);
    const remaining = [600000, 600000, 1000];

    await activation.handler(event('Create', agent.port, {}), context(() => remaining.shift() ?? 1000));

    expect(agent.requests).toHaveLength(2);
    const response = cloudFormationResponse();
    expect(response.PhysicalResourceId).toMatch(PLACEHOLDER);
    expect(response.Data.ActivationSuccess).toBe('false');
    expect(response.Data.Message).toContain('stopped before attempt 3 for lack of time (last error: agent answered HTTP 500)');
    expect(logLines()).toContain('Activation attempt 3/3: skipped, 1000 ms left is not enough for another attempt');
  });

  test('answers a placeholder on an unexpected error', async () => {
    const agent = await startServer(answerKey(KEY_1));
    const broken = context(() => {
      throw new Error('context is broken');
    });

    await activation.handler(event('Create', agent.port), broken);

    const response = cloudFormationResponse();
    expect(response).toMatchObject({ ...echoed, Data: { ActivationSuccess: 'false' } });
    expect(response.PhysicalResourceId).toMatch(PLACEHOLDER);
    expect(response.Data.Message).toContain('was not activated: unexpected error: context is broken');
  });
});

describe('Update', () => {
  test('keeps an agent that exists without activating again', async () => {
    const agent = await startServer(answerKey(KEY_1));
    datasync.on(DescribeAgentCommand).resolves({ AgentArn: AGENT_ARN, Status: 'OFFLINE' });
    const update = event('Update', agent.port, { PhysicalResourceId: AGENT_ARN });

    await activation.handler({ ...update, OldResourceProperties: update.ResourceProperties }, context());

    expect(agent.requests).toHaveLength(0);
    expect(datasync.commandCalls(DescribeAgentCommand).map((call) => call.args[0].input)).toEqual([{ AgentArn: AGENT_ARN }]);
    expect(datasync.commandCalls(CreateAgentCommand)).toHaveLength(0);
    expect(cloudFormationResponse()).toEqual({
      ...echoed,
      Reason: `DataSync agent ${AGENT_ARN} is already activated`,
      PhysicalResourceId: AGENT_ARN,
      Data: { AgentArn: AGENT_ARN, ActivationSuccess: 'true', Message: `DataSync agent ${AGENT_ARN} is already activated` },
    });
  });

  test('activates when the old resource is a placeholder', async () => {
    const agent = await startServer(answerKey(KEY_1));
    datasync.on(CreateAgentCommand).resolves({ AgentArn: AGENT_ARN });
    const update = event('Update', agent.port, { PhysicalResourceId: OLD_PLACEHOLDER });

    await activation.handler({ ...update, OldResourceProperties: update.ResourceProperties }, context());

    expect(agent.requests).toHaveLength(1);
    expect(datasync.commandCalls(DescribeAgentCommand)).toHaveLength(0);
    expect(createAgentKeys()).toEqual([KEY_1]);
    expect(cloudFormationResponse()).toMatchObject({ ...echoed, PhysicalResourceId: AGENT_ARN, Data: { AgentArn: AGENT_ARN, ActivationSuccess: 'true' } });
  });

  test('activates again when the old agent is gone', async () => {
    const agent = await startServer(answerKey(KEY_1));
    datasync.on(DescribeAgentCommand).rejects(Object.assign(new Error('Agent not found'), { name: 'InvalidRequestException' }));
    datasync.on(CreateAgentCommand).resolves({ AgentArn: NEW_AGENT_ARN });
    const update = event('Update', agent.port, { PhysicalResourceId: AGENT_ARN });

    await activation.handler({ ...update, OldResourceProperties: update.ResourceProperties }, context());

    expect(agent.requests).toHaveLength(1);
    expect(cloudFormationResponse()).toMatchObject({ PhysicalResourceId: NEW_AGENT_ARN, Data: { AgentArn: NEW_AGENT_ARN, ActivationSuccess: 'true' } });
  });

  test('activates the new machine when the agent address changed', async () => {
    const agent = await startServer(answerKey(KEY_1));
    datasync.on(DescribeAgentCommand).resolves({ AgentArn: AGENT_ARN, Status: 'ONLINE' });
    datasync.on(CreateAgentCommand).resolves({ AgentArn: NEW_AGENT_ARN });
    const update = event('Update', agent.port, { PhysicalResourceId: AGENT_ARN });
    const oldProperties = { ...update.ResourceProperties, AgentIp: '10.0.0.9' };

    await activation.handler({ ...update, OldResourceProperties: oldProperties }, context());

    expect(agent.requests).toHaveLength(1);
    expect(cloudFormationResponse()).toMatchObject({ PhysicalResourceId: NEW_AGENT_ARN, Data: { ActivationSuccess: 'true' } });
  });

  test('keeps the real agent ARN when it cannot be described and activation fails', async () => {
    const agent = await startServer(answerErrorPage);
    datasync.on(DescribeAgentCommand).rejects(new Error('Rate exceeded'));
    const update = event('Update', agent.port, { PhysicalResourceId: AGENT_ARN });

    await activation.handler({ ...update, OldResourceProperties: update.ResourceProperties }, context());

    expect(agent.requests).toHaveLength(3);
    const response = cloudFormationResponse();
    expect(response).toMatchObject({ ...echoed, PhysicalResourceId: AGENT_ARN, Data: { AgentArn: AGENT_ARN, ActivationSuccess: 'false' } });
    expect(response.Data.Message).toContain('all 3 attempts failed (last error: agent answered HTTP 500)');
  });
});

describe('Delete', () => {
  test('deletes a real agent', async () => {
    datasync.on(DeleteAgentCommand).resolves({});

    await activation.handler(event('Delete', 80, { PhysicalResourceId: AGENT_ARN }), context());

    expect(datasync.commandCalls(DeleteAgentCommand).map((call) => call.args[0].input)).toEqual([{ AgentArn: AGENT_ARN }]);
    expect(cloudFormationResponse()).toEqual({
      ...echoed,
      Reason: 'See CloudWatch Logs: 2024/05/17/[$LATEST]abc',
      PhysicalResourceId: AGENT_ARN,
      Data: {},
    });
  });

  test('answers SUCCESS when DeleteAgent fails', async () => {
    datasync.on(DeleteAgentCommand).rejects(Object.assign(new Error('Agent not found'), { name: 'InvalidRequestException' }));

    await activation.handler(event('Delete', 80, { PhysicalResourceId: AGENT_ARN }), context());

    expect(datasync.commandCalls(DeleteAgentCommand)).toHaveLength(1);
    expect(cloudFormationResponse()).toMatchObject({ ...echoed, PhysicalResourceId: AGENT_ARN, Data: {} });
    expect(logLines()).toContain(`Could not delete agent ${AGENT_ARN}, ignoring: InvalidRequestException: Agent not found`);
  });

  test('leaves a placeholder alone', async () => {
    await activation.handler(event('Delete', 80, { PhysicalResourceId: OLD_PLACEHOLDER }), context());

    expect(datasync.calls()).toHaveLength(0);
    expect(cloudFormationResponse()).toMatchObject({ ...echoed, PhysicalResourceId: OLD_PLACEHOLDER, Data: {} });
  });
});

describe('helpers', () => {
  test('activation URL leaves out the default port', () => {
    expect(activation.activationUrl({ agentIp: '10.0.1.20', agentPort: 80, region: 'eu-west-1' }))
      .toBe('http://10.0.1.20/?gatewayType=SYNC&activationRegion=eu-west-1&no_redirect');
    expect(activation.activationUrl({ agentIp: '10.0.1.20', agentPort: 8080, region: 'eu-west-1' }))
      .toBe('http://10.0.1.20:8080/?gatewayType=SYNC&activationRegion=eu-west-1&no_redirect');
  });

  test('placeholder ARN takes partition and account from the function ARN', () => {
    const arn = activation.placeholderArn('arn:aws-cn:lambda:cn-north-1:444455556666:function:f', 'cn-north-1', 1715934600000);
    expect(arn).toBe('arn:aws-cn:datasync:cn-north-1:444455556666:agent/agent-placeholder-1715934600000');
    expect(activation.isPlaceholderArn(arn)).toBe(true);
    expect(activation.isRealAgentArn(arn)).toBe(false);
    expect(activation.isRealAgentArn(AGENT_ARN)).toBe(true);
    expect(activation.isRealAgentArn('AgentActivation')).toBe(false);
    expect(activation.isRealAgentArn(undefined)).toBe(false);
  });

  test('settings fall back to defaults', () => {
    const saved = process.env.AWS_REGION;
    process.env.AWS_REGION = 'ap-southeast-2';
    try {
      expect(activation.readSettings({ AgentIp: '10.0.1.20', MaxAttempts: 'lots', HttpTimeoutSeconds: '' })).toEqual({
        agentIp: '10.0.1.20',
        agentPort: 80,
        agentName: undefined,
        region: 'ap-southeast-2',
        initialWaitMs: 90000,
        retryIntervalMs: 45000,
        maxAttempts: 10,
        httpTimeoutMs: 10000,
        tags: [],
      });
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  });
});
