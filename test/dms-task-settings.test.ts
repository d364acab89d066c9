import { describe, test, expect } from '@jest/globals';
import { synthPipeline } from './pipeline-fixture';

/** The task's TargetTablePrepMode by migration type ("Full-load task settings", DMS User Guide: the prep mode
 * applies when a full load starts; a cdc-only task never loads, its target is backfilled beforehand). */
function prepMode(migrationType?: string): string {
  const fx = synthPipeline(migrationType ? { dms: { migrationType } } : {});
  const [task] = Object.values(fx.nested('DMSStack').findResources('AWS::DMS::ReplicationTask')) as any[];
  return JSON.parse(task.Properties.ReplicationTaskSettings).FullLoadSettings.TargetTablePrepMode;
}

describe('TargetTablePrepMode', () => {
  test('a cdc-only task leaves the backfilled target tables as they are', () => {
    expect(prepMode('cdc')).toBe('DO_NOTHING');
  });
  test.each(['full-load', 'full-load-and-cdc'])('a %s task truncates before it loads, so a resumed load is not duplicated', (type) => {
    expect(prepMode(type)).toBe('TRUNCATE_BEFORE_LOAD');
  });
});
