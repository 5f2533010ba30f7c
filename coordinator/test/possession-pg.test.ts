import { describe } from 'vitest'
import { migratedTestDb, postgresReachable } from '../store/test/pg-harness.ts'
import { runPossessionSuite } from './possession.suite.ts'

// Skipped only when no Postgres answers (.ci/run starts one); the same suite runs on PGlite
// in any case.
describe.skipIf(!(await postgresReachable()))('proof of possession on Postgres', () => {
  runPossessionSuite('Postgres', () => migratedTestDb())
})
