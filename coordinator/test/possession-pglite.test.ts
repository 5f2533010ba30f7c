import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../store/migrate.ts'
import { openPglite } from '../store/pglite.ts'
import { upload } from './flow.suite.ts'
import { makeFile, newAccount, startApp, type TestApp } from './harness.ts'
import { initUpload, runPossessionSuite } from './possession.suite.ts'

runPossessionSuite('PGlite in memory', async () => {
  const db = await openPglite()
  await migrate(db)
  return { db, teardown: () => db.close() }
})

describe('in an account domain', () => {
  let t: TestApp
  beforeAll(async () => {
    t = await startApp({ listen: true })
  })
  afterAll(async () => {
    await t?.close()
  })

  it('issues no challenges: another account must upload its own chunks', async () => {
    const [a] = await newAccount(t.app)
    const [b] = await newAccount(t.app)
    const file = makeFile([100, 40])
    await upload(a!, 'x.bin', file, null)
    const session = await initUpload(b!, 'x.bin', file)
    expect(session.missing).toEqual([0, 1])
    expect(session.challenges).toBeUndefined()
    const again = await initUpload(a!, 'y.bin', file)
    expect(again).toMatchObject({ missing: [] })
    expect(again.challenges).toBeUndefined()
  })
})
