import { describe } from 'vitest'
import { migratedTestDb, postgresReachable } from '../store/test/pg-harness.ts'
import { runRetentionSuite } from './retention.suite.ts'

// Skipped only when no Postgres answers (.ci/run starts one); the same suite runs on PGlite.
describe.skipIf(!(await postgresReachable()))('undelete window on Postgres', () => {
  runRetentionSuite('Postgres', () => migratedTestDb())
})
