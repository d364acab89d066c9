import { awscdk, javascript } from 'projen';

const CDK_VERSION = '2.257.0';

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
  constructsVersion: '10.5.1',
  jsiiVersion: '~5.9.0',
  typescriptVersion: '~5.9.0',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  projenVersion: '0.103.25',
  minNodeVersion: '20.0.0',

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
    `@aws-cdk/integ-tests-alpha@2.245.0-alpha.0`,
    '@aws-cdk/integ-runner@2.197.10',
    'aws-cdk@2.1148.1',
    'cdk-nag@3.0.2',
    '@swc/core',
    '@swc/jest',
    'aws-sdk-client-mock@^4',
    '@aws-sdk/client-datasync@^3',
    'jsii-pacmak',
  ],

  jestOptions: {
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      collectCoverage: false,
    },
  },

  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    compilerOptions: {},
    include: ['src/**/*.ts', 'test/**/*.ts', 'integ/**/*.ts', 'tools/**/*.ts'],
  },

  gitignore: ['cdk.out/', '.venv/', '__pycache__/', '.pytest_cache/', 'dist/', 'integ/cdk-integ.out.*', 'integ/*.js.snapshot/asset.*/__pycache__/'],
});

project.addPackageIgnore('/integ/');
project.addPackageIgnore('/tools/');
project.addPackageIgnore('/cdk.json');
project.addPackageIgnore('/requirements-dev.txt');
project.addPackageIgnore('/.ci/');
project.addPackageIgnore('cdk.out/');

// Transpile tests with swc (type-checking runs once, separately, in `typecheck`).
project.tryFindObjectFile('package.json')?.addOverride('jest.transform', {
  '^.+\\.[t]sx?$': ['@swc/jest'],
});

// The runtime code (Python handlers, Glue script, Node custom resources) ships next to the compiled library.
project.postCompileTask.exec('rm -rf lib/runtime && cp -r src/runtime lib/runtime && find lib/runtime -name __pycache__ -prune -exec rm -rf {} +');

project.synth();
