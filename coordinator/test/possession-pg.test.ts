import { describe, it } from 'vitest'
import { migratedTestDb, postgresReachable } from '../store/test/pg-harness.ts'
import { runPossessionSuite } from './possession.suite.ts'

if (await postgresReachable()) {
  runPossessionSuite('Postgres', () => migratedTestDb())
} else {
  // Only when no Postgres answers (CI starts one): the same suite still runs on PGlite.
  describe.skip('proof of possession on Postgres (unreachable)', () => it('skipped', () => {}))
}
