import { describe, test, expect } from '@jest/globals';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { MigrationPipeline, MigrationPipelineProps } from '../src';

/*
 * Inputs that CloudFormation or CDK would reject later, or that deploy something else than meant, fail at synth
 * with `prop: received X; expected Y.` Every wrong prop of an app is reported by one synthesis.
 */

/** Builds every pipeline into one app (construction must not throw) and returns the error synthesis reports. */
function synthesisError(pipelines: MigrationPipelineProps[]): string {
  const app = new App();
  const stack = new Stack(app, 'Checks', { env: { region: 'us-west-2' } });
  pipelines.forEach((props, i) => new MigrationPipeline(stack, `Pipeline${i}`, props));
  try {
    app.synth();
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('several wrong props are reported together by one synthesis', () => {
  const message = synthesisError([
    {
      environmentSuffix: 'one',
      // "Supported DB engines for DB instance classes", Amazon Aurora User Guide: CDK adds the db. prefix itself.
      database: { instanceType: new ec2.InstanceType('db.r6g.large') },
      // "AWS Glue versions", AWS Glue Developer Guide.
      glue: { glueVersion: '9.9', expectedColumns: ['id', 'first name'], requiredColumns: ['id', 'email'], uniqueKeyColumns: ['a,b'] },
      network: { cidr: '10.0.0.1/16', availabilityZones: ['us-east-1a', 'us-east-1b'] },
      dataSync: { activationInitialWait: Duration.millis(1500) },
      storage: { noncurrentVersionExpiration: Duration.hours(36) },
    },
    {
      environmentSuffix: 'two',
      // Aurora MySQL 3 does not run on t3.micro ("Supported DB engines for DB instance classes", Amazon Aurora User Guide).
      database: { instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MICRO) },
      network: { cidr: '10.0.0.256/16', availabilityZones: ['us-west-2a'] },
      glue: { timeout: Duration.seconds(90) },
      functions: { timeout: Duration.millis(2500) },
    },
  ]);

  test.each<[string, RegExp]>([
    ['the db. prefix', /database.instanceType \(instance_type\): received 'db.r6g.large', which would become DB instance class 'db.db.r6g.large'; expected the type without the 'db.' prefix, such as 'r6g.large'/],
    ['an instance class Aurora MySQL 3 does not run on', /database.instanceType \(instance_type\): received 't3.micro'; expected a DB instance class Aurora MySQL 3 supports: r5, r6g.*t4g.large\./],
    ['an unknown Glue version', /glue.glueVersion \(glue_version\): received '9.9'; expected one of '3.0', '4.0', '5.0'\./],
    ['a column name with a blank', /glue.expectedColumns \(expected_columns\): received 'first name'; expected a column name without commas or blanks\./],
    ['a column name with a comma', /glue.uniqueKeyColumns \(unique_key_columns\): received 'a,b'; expected a column name without commas or blanks\./],
    ['a required column that is not expected', /glue.requiredColumns \(required_columns\): received 'email', not in glue.expectedColumns; expected columns from glue.expectedColumns \('id', 'first name'\)\./],
    ['a CIDR with host bits set', /network.cidr: received '10.0.0.1\/16', which has host bits set; expected the network address of the block, '10.0.0.0\/16'\./],
    ['an invalid IP address in the CIDR', /network.cidr: received '10.0.0.256\/16'; expected an IPv4 CIDR block such as 10.0.0.0\/16\./],
    ['zones of another region', /network.availabilityZones \(availability_zones\): received \['us-east-1a', 'us-east-1b'\]; expected Availability Zone names of the stack's region us-west-2, such as 'us-west-2a'\./],
    ['a single zone', /network.availabilityZones \(availability_zones\): received \['us-west-2a'\]; expected at least 2 distinct Availability Zones/],
    ['milliseconds where whole seconds are needed', /dataSync.activationInitialWait \(activation_initial_wait\): received 1 second 500 millis; expected a whole number of seconds, from 30 seconds to 5 minutes\./],
    ['milliseconds for the function timeout', /functions.timeout: received 2 seconds 500 millis; expected a whole number of seconds, from 10 seconds to 15 minutes\./],
    ['seconds where whole minutes are needed', /glue.timeout: received 1 minute 30 seconds; expected a whole number of minutes, from 1 minute to 7 days\./],
    ['hours where whole days are needed', /storage.noncurrentVersionExpiration \(noncurrent_version_expiration\): received 1 day 12 hours; expected a whole number of days, from 1 day to 3650 days\./],
  ])('%s', (_name, expected) => {
    expect(message).toMatch(expected);
  });

  test('the error comes from synthesis, naming where each check failed', () => {
    expect(message).toMatch(/Validation failed/);
    expect(message).toMatch(/\[Checks\/Pipeline0\/NetworkStack\/Network\] network.cidr/);
    expect(message).toMatch(/\[Checks\/Pipeline1\/NetworkStack\/Network\] network.cidr/);
  });
});

describe('values outside the sets AWS accepts fail at synth, and the message offers only accepted values', () => {
  const message = synthesisError([
    // "Choosing the right AWS DMS replication instance for your migration", AWS DMS User Guide: R5 starts at large,
    // T3 ends at large. "AWS Glue worker types", AWS Glue Developer Guide: G.025X is for streaming jobs, Z.2X for Ray.
    { environmentSuffix: 'a', dms: { replicationInstanceClass: 'dms.r5.micro' }, glue: { glueVersion: '4.0', workerType: 'G.025X' } },
    { environmentSuffix: 'b', dms: { replicationInstanceClass: 'dms.t3.xlarge' }, glue: { workerType: 'Z.2X' } },
    { environmentSuffix: 'c', dms: { replicationInstanceClass: 'dms.m5.large' }, glue: { glueVersion: '3.0', workerType: 'G.12X' } },
    { environmentSuffix: 'd', orchestration: { pollInterval: Duration.seconds(5), timeout: Duration.minutes(30) } },
    // "Performing replication starting from a CDC start point", AWS DMS User Guide: a cdc task only, in a known form.
    { environmentSuffix: 'e', dms: { migrationType: 'cdc', cdcStartPosition: 'mysql-bin-changelog.000024' } },
    { environmentSuffix: 'f', dms: { cdcStartPosition: 'mysql-bin-changelog.000024:373' } },
    { environmentSuffix: 'g', dms: { migrationType: 'cdc', cdcStartPosition: '2026-13-08 12:12:12' } },
    // The cutover's wait: CDC metrics are published once a minute ("AWS Database Migration Service metrics", AWS DMS
    // User Guide), so a look more often sees no new sample; the switch needs a parameter and its value.
    { environmentSuffix: 'h', cutover: { settleInterval: Duration.seconds(20), settledSamples: 0, switchParameterName: '/apps/db' } },
    { environmentSuffix: 'i', cutover: { switchParameterName: 'apps db host', switchParameterValue: 'x' } },
  ]);

  test.each<[string, RegExp]>([
    ['an R5 size DMS does not offer', /dms.replicationInstanceClass \(replication_instance_class\): received 'dms.r5.micro'; expected a size DMS offers for dms.r5: 'dms.r5.large', 'dms.r5.xlarge', 'dms.r5.2xlarge', 'dms.r5.4xlarge', 'dms.r5.8xlarge', 'dms.r5.12xlarge', 'dms.r5.16xlarge', 'dms.r5.24xlarge'\./],
    ['a T3 size DMS does not offer', /dms.replicationInstanceClass \(replication_instance_class\): received 'dms.t3.xlarge'; expected a size DMS offers for dms.t3: 'dms.t3.micro', 'dms.t3.small', 'dms.t3.medium', 'dms.t3.large'\./],
    ['a family DMS does not offer', /dms.replicationInstanceClass \(replication_instance_class\): received 'dms.m5.large'; expected a DMS replication instance class, dms.<family>.<size>: dms.t2 \(micro, small, medium, large\);.* dms.r6i \(large, .*, 32xlarge\)\./],
    ['a streaming worker type for a Spark job', /glue.workerType \(worker_type\): received 'G.025X', which Glue offers for streaming jobs only; expected a worker type of Spark jobs in Glue 4.0: 'G.1X', 'G.2X', 'G.4X', 'G.8X', 'G.12X', 'G.16X', 'R.1X', 'R.2X', 'R.4X', 'R.8X'\./],
    ['a Ray worker type for a Spark job', /glue.workerType \(worker_type\): received 'Z.2X', which Glue offers for Ray jobs only; expected a worker type of Spark jobs in Glue 4.0: /],
    ['a worker type newer than the Glue version', /glue.workerType \(worker_type\): received 'G.12X'; expected a worker type of Spark jobs in Glue 3.0: 'G.1X', 'G.2X', 'G.4X', 'G.8X'\./],
    ['a binary log file without a position', /dms.cdcStartPosition \(cdc_start_position\): received 'mysql-bin-changelog.000024'; expected a binary log position '<file>:<position>' such as 'mysql-bin-changelog.000024:373', or a DMS checkpoint 'checkpoint:V1#...', or a UTC time 'YYYY-MM-DDTHH:MM:SS'/],
    ['a start position for a task with a full load', /dms.cdcStartPosition \(cdc_start_position\): received 'mysql-bin-changelog.000024:373' with dms.migrationType 'full-load-and-cdc'; expected it only with migrationType 'cdc'/],
    ['a time that is not one', /dms.cdcStartPosition \(cdc_start_position\): received '2026-13-08 12:12:12'; expected/],
    ['a poll interval shorter than one throttled DMS call\'s retries', /orchestration.pollInterval \(poll_interval\): received 5 seconds; expected at least 38 seconds: .* 75 seconds between its retries/],
    ['a cutover look more often than the metrics', /cutover.settleInterval \(settle_interval\): received 20 seconds; expected/],
    ['no settled sample required', /cutover.settledSamples \(settled_samples\): received 0; expected/],
    ['a switch parameter without its value', /cutover.switchParameterName \/ cutover.switchParameterValue \(switch_parameter_name \/ switch_parameter_value\): received only one of them/],
    ['a switch parameter name SSM refuses', /cutover.switchParameterName \(switch_parameter_name\): received 'apps db host'; expected an SSM parameter name/],
  ])('%s', (_name, expected) => {
    expect(message).toMatch(expected);
  });

  test('no message offers a value AWS refuses for this job or instance', () => {
    const offered = message.split('\n').filter((line) => /expected/.test(line)).map((line) => line.split('expected')[1]);
    expect(offered.join()).not.toMatch(/G\.025X'|'Z\.2X'|dms\.r5\.micro'|dms\.t3\.xlarge'/);
  });
});

describe('valid inputs pass', () => {
  test('each DMS family at its smallest and largest size, memory-optimized Glue workers on 5.0, the shortest poll interval', () => {
    expect(synthesisError([
      { environmentSuffix: 'v1', dms: { replicationInstanceClass: 'dms.t2.micro' }, glue: { glueVersion: '5.0', workerType: 'R.8X' } },
      { environmentSuffix: 'v2', dms: { replicationInstanceClass: 'dms.r6i.32xlarge' }, glue: { glueVersion: '3.0', workerType: 'G.8X' } },
      { environmentSuffix: 'v3', dms: { replicationInstanceClass: 'dms.c5.9xlarge' }, orchestration: { pollInterval: Duration.seconds(38), timeout: Duration.minutes(30) } },
      { environmentSuffix: 'v4', dms: { migrationType: 'cdc', cdcStartPosition: 'mysql-bin-changelog.000024:373' } },
      { environmentSuffix: 'v5', dms: { migrationType: 'cdc', cdcStartPosition: '2026-03-08T12:12:12' } },
      { environmentSuffix: 'v6', dms: { migrationType: 'cdc', cdcStartPosition: 'checkpoint:V1#27#mysql-bin-changelog.157832:1975:-1:2002:677883278264080:mysql-bin-changelog.157832:1876#0#0#*#0#93' } },
    ])).toBe('');
  });

  test('Graviton burstable and r8g classes, Glue 5.0, named zones, whole-unit durations', () => {
    expect(synthesisError([
      {
        environmentSuffix: 'ok',
        database: { instanceType: new ec2.InstanceType('t4g.medium') },
        glue: { glueVersion: '5.0', expectedColumns: ['id', 'email'], requiredColumns: ['id'], uniqueKeyColumns: ['id', 'email'], timeout: Duration.hours(2) },
        network: { cidr: '172.16.0.0/16', availabilityZones: ['us-west-2a', 'us-west-2b', 'us-west-2c'], maxAzs: 2 },
        dataSync: { activationInitialWait: Duration.millis(60000) },
      },
      { environmentSuffix: 'ok2', database: { instanceType: new ec2.InstanceType('r8g.2xlarge') } },
    ])).toBe('');
  });
});
