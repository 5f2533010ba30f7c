import { describe, it } from 'vitest'
import { migratedTestDb, postgresReachable } from '../store/test/pg-harness.ts'
import { runGcSuite } from './gc.suite.ts'

if (await postgresReachable()) {
  runGcSuite('Postgres', () => migratedTestDb())
} else {
  // Only when no Postgres answers (CI starts one): the same suite still runs on PGlite.
  describe.skip('garbage collection on Postgres (unreachable)', () => it('skipped', () => {}))
}
