import { describe } from 'vitest'
import { migratedTestDb, postgresReachable } from '../store/test/pg-harness.ts'
import { runTakeoverSuite } from './takeover.suite.ts'

// Skipped only when no Postgres answers (.ci/run starts one); the same suite runs on PGlite
// in any case.
describe.skipIf(!(await postgresReachable()))('takeover on Postgres', () => {
  runTakeoverSuite('Postgres', () => migratedTestDb())
})
