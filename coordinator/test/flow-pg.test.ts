import { describe, it } from 'vitest'
import { migratedTestDb, postgresReachable } from '../store/test/pg-harness.ts'
import { runFlowSuite } from './flow.suite.ts'

if (await postgresReachable()) {
  runFlowSuite('Postgres', () => migratedTestDb())
} else {
  // Only when no Postgres answers (CI starts one): the same suite still runs on PGlite.
  describe.skip('upload flow on Postgres (unreachable)', () => it('skipped', () => {}))
}
