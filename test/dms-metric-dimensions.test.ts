/**
 * DMS task metrics are published with the dimensions ReplicationInstanceIdentifier (the instance's identifier) and
 * ReplicationTaskIdentifier, whose value is the task's resource id, the last part of its ARN, not the friendly task
 * identifier (AWS DMS User Guide, "AWS Database Migration Service metrics" > "Replication task metrics"; the DMS
 * knowledge-center article on validation failures also names the task by that "external resource ID").
 * A metric on the friendly identifier never has data, so its alarm can never fire.
 */
import { describe, test, expect } from '@jest/globals';
import { synthPipeline } from './pipeline-fixture';

const fx = synthPipeline();
const monitoring = fx.nested('MonitoringStack').toJSON() as { Resources: Record<string, any> };
const resources = (type: string) => Object.values(monitoring.Resources).filter((r) => r.Type === type);

const FRIENDLY_TASK_ID = 'migration-task-dev';
const FRIENDLY_INSTANCE_ID = 'migration-instance-dev';
const isTaskResourceId = (value: unknown) => {
  const select = (value as any)?.['Fn::Select'];
  return Array.isArray(select) && select[0] === 6
    && select[1]?.['Fn::Split']?.[0] === ':'
    && /DmsReplicationTask/.test(JSON.stringify(select[1]['Fn::Split'][1]));
};

/** The dashboard body with every token written as <<its JSON>>, so metric arrays can be read as text. */
function dashboardText(): string {
  const [dashboard] = resources('AWS::CloudWatch::Dashboard');
  const parts: unknown[] = dashboard.Properties.DashboardBody['Fn::Join'][1];
  return parts.map((p) => (typeof p === 'string' ? p : `<<${JSON.stringify(p)}>>`)).join('');
}

describe('DMS metrics use the dimensions DMS publishes', () => {
  test('every AWS/DMS alarm names the task by its resource id and the instance by its identifier', () => {
    const alarms = resources('AWS::CloudWatch::Alarm').filter((a) => a.Properties.Namespace === 'AWS/DMS');
    expect(alarms.length).toBeGreaterThanOrEqual(2);
    for (const alarm of alarms) {
      const dimensions = Object.fromEntries(alarm.Properties.Dimensions.map((d: any) => [d.Name, d.Value]));
      expect(Object.keys(dimensions).sort()).toEqual(['ReplicationInstanceIdentifier', 'ReplicationTaskIdentifier']);
      expect(dimensions.ReplicationTaskIdentifier).not.toEqual(FRIENDLY_TASK_ID);
      expect(isTaskResourceId(dimensions.ReplicationTaskIdentifier)).toBe(true);
      expect(dimensions.ReplicationInstanceIdentifier).toEqual(FRIENDLY_INSTANCE_ID);
    }
  });

  test('every AWS/DMS metric of the dashboard names the task by its resource id', () => {
    const text = dashboardText();
    expect(text).not.toContain(`"${FRIENDLY_TASK_ID}"`);
    const taskDimensions = [...text.matchAll(/"ReplicationTaskIdentifier","<<(.*?)>>"/g)].map((m) => JSON.parse(m[1]));
    const dmsMetrics = [...text.matchAll(/\["AWS\/DMS"/g)];
    expect(dmsMetrics.length).toBeGreaterThanOrEqual(7);
    expect(taskDimensions).toHaveLength(dmsMetrics.length);
    for (const dimension of taskDimensions) {
      expect(isTaskResourceId(dimension)).toBe(true);
    }
  });

  test('the dashboard shows the data validation metrics', () => {
    const text = dashboardText();
    for (const metric of ['ValidationFailedOverallCount', 'ValidationSuspendedOverallCount', 'ValidationPendingOverallCount']) {
      expect(text).toContain(`"AWS/DMS","${metric}"`);
    }
  });
});
