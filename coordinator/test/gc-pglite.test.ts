import { describe, expect, it } from 'vitest'
import type { ServerMessage } from '../../protocol/schemas/ws.ts'
import { migrate } from '../store/migrate.ts'
import { openPglite } from '../store/pglite.ts'
import { runGcSuite } from './gc.suite.ts'
import { makeFile, newAccount, startApp } from './harness.ts'

runGcSuite('PGlite in memory', async () => {
  const db = await openPglite()
  await migrate(db)
  return { db, teardown: () => db.close() }
})

describe('the gc plugin', () => {
  it('runs on its interval: an expired upload ends with a pending-expired notice', async () => {
    const t = await startApp({ config: { gcIntervalMs: 40, uploadSessionTtlMs: 1 } })
    try {
      const [laptop] = await newAccount(t.app)
      const heard: ServerMessage[] = []
      const stop = await t.app.feed.watch(laptop!.accountId, (m) => heard.push(m))
      const init = await laptop!.call({
        method: 'POST',
        url: '/files/upload/init',
        payload: { path: 'brief.bin', ...makeFile([10]).manifest, baseVersion: null },
      })
      const { sessionId } = init.json()
      await expect
        .poll(() => heard, { timeout: 3000 })
        .toContainEqual({ type: 'pending-expired', sessionId })
      await stop()
    } finally {
      await t.close()
    }
  })
})
