import { describe } from 'vitest'
import { createTestSchema, postgresReachable } from './pg-harness.ts'
import { runStoreContract } from './store.contract.ts'

const reachable = await postgresReachable()

describe.skipIf(!reachable)('Postgres', () => {
  runStoreContract('Postgres via pg', async () => {
    const schema = await createTestSchema()
    const db = schema.open()
    return {
      db,
      async teardown() {
        await db.close()
        await schema.drop()
      },
    }
  })
})
