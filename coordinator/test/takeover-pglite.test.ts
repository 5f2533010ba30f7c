import { migrate } from '../store/migrate.ts'
import { openPglite } from '../store/pglite.ts'
import { runTakeoverSuite } from './takeover.suite.ts'

runTakeoverSuite('PGlite in memory', async () => {
  const db = await openPglite()
  await migrate(db)
  return { db, teardown: () => db.close() }
})
