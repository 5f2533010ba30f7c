import { describe } from 'vitest'
import { migratedTestDb, postgresReachable } from '../store/test/pg-harness.ts'
import { runFlowSuite } from './flow.suite.ts'

// Skipped only when no Postgres answers (.ci/run starts one); the same suite runs on PGlite
// in any case.
describe.skipIf(!(await postgresReachable()))('upload flow on Postgres', () => {
  runFlowSuite('Postgres', () => migratedTestDb())
})
