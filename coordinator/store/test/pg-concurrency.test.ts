import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changesAfter } from '../changes.ts'
import type { Db } from '../db.ts'
import { migrate, readMigrations } from '../migrate.ts'
import { fakeManifest, newAccount, upload } from './fixtures.ts'
import { createTestSchema, postgresReachable, type TestSchema } from './pg-harness.ts'

/**
 * What only a real server can show: PGlite is one connection, so nothing runs concurrently
 * there (docs/DESIGN.md "Facts about the libraries").
 */
const reachable = await postgresReachable()

describe.skipIf(!reachable)('Postgres under concurrency', () => {
  let schema: TestSchema
  let db: Db

  beforeAll(async () => {
    schema = await createTestSchema()
    db = schema.open(12)
  })
  afterAll(async () => {
    await db?.close()
    await schema?.drop()
  })

  it('migrates once when two coordinators start at the same time', async () => {
    const other = schema.open(2)
    try {
      const [a, b] = await Promise.all([migrate(db), migrate(other)])
      // Every migration applied once, by one of the two, whichever migrations exist.
      expect([...a, ...b]).toEqual(readMigrations().map((m) => m.name))
    } finally {
      await other.close()
    }
  })

  it('shows a polling reader every one of 50 concurrent commits exactly once, in order', async () => {
    const { accountId, devices } = await newAccount(db, new Date())
    const deviceId = devices.laptop!.id
    const commits = 50
    let writing = true
    const seen: number[] = []

    const reader = (async () => {
      let cursor = 0
      for (;;) {
        const done = !writing
        const page = await changesAfter(db, accountId, cursor, 7)
        seen.push(...page.changes.map((c) => c.seq))
        cursor = page.cursor
        // One last full read after the writers finished, so the tail is not missed.
        if (done && !page.hasMore) return
      }
    })()

    const writers = Array.from({ length: commits }, (_, i) =>
      upload(db, {
        accountId,
        deviceId,
        // A few paths shared, so some commits also conflict and write two changes.
        path: `f${i % 40}.txt`,
        base: null,
        manifest: fakeManifest(`c${i}`, 1),
        now: new Date(),
      }),
    )
    const results = await Promise.all(writers)
    writing = false
    await reader

    const written = results.flatMap((r) => (r.conflictCopy ? [r.conflictCopy.seq, r.seq] : [r.seq]))
    expect(written.length).toBeGreaterThanOrEqual(commits)
    expect(seen).toEqual(Array.from({ length: written.length }, (_, i) => i + 1))
    expect(new Set(written)).toEqual(new Set(seen))
  })
})
