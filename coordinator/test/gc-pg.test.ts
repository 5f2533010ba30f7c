import { describe, it } from 'vitest'
import { migrate } from '../store/migrate.ts'
import { createTestSchema, postgresReachable } from '../store/test/pg-harness.ts'
import { runGcSuite } from './gc.suite.ts'

if (await postgresReachable()) {
  runGcSuite('Postgres', async () => {
    const schema = await createTestSchema()
    const db = schema.open(4)
    await migrate(db)
    return {
      db,
      teardown: async () => {
        await db.close()
        await schema.drop()
      },
    }
  })
} else {
  describe.skip('garbage collection on Postgres (unreachable)', () => it('skipped', () => {}))
}
