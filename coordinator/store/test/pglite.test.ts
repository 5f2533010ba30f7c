import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate } from 'node:timers/promises'
import { expect, it } from 'vitest'
import { openStore } from '../index.ts'
import { openPglite } from '../pglite.ts'
import { openPgliteInline } from '../pglite-inline.ts'
import { runStoreContract } from './store.contract.ts'

runStoreContract('PGlite in memory', async () => {
  const db = await openPglite()
  return { db, teardown: () => db.close() }
})

runStoreContract('PGlite in memory, on the calling thread (the simulator)', async () => {
  const db = await openPgliteInline()
  return { db, teardown: () => db.close() }
})

it('persists in a data directory across restarts', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloudsync-pglite-'))
  try {
    const first = await openStore({ dataDir })
    await first.query(`INSERT INTO accounts (created_at) VALUES (now())`)
    await first.close()
    const second = await openStore({ dataDir })
    const { rows } = await second.query<{ n: number }>('SELECT count(*) AS n FROM accounts')
    await second.close()
    expect(rows[0]?.n).toBe(1)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
})

it('runs statements off the event loop: the loop turns while one runs', async () => {
  const db = await openPglite()
  try {
    // A large manifest's insert is one statement that runs to its end: on the event loop's
    // thread it held every other request for seconds.
    let turns = 0
    let running = true
    const spin = (async () => {
      while (running) {
        await setImmediate()
        turns++
      }
    })()
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*) AS n FROM generate_series(1, 3000000)',
    )
    running = false
    await spin
    expect(rows[0]?.n).toBe(3_000_000)
    expect(turns).toBeGreaterThanOrEqual(10)
  } finally {
    await db.close()
  }
})

it('keeps the SQLSTATE of a failed statement and rolls back a failed transaction', async () => {
  const db = await openPglite()
  try {
    await db.exec('CREATE TABLE t (id int PRIMARY KEY)')
    await db.query('INSERT INTO t VALUES (1)')
    await expect(db.query('INSERT INTO t VALUES (1)')).rejects.toMatchObject({ code: '23505' })
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (2)')
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    const { rows } = await db.query<{ id: number }>('SELECT id FROM t ORDER BY id')
    expect(rows).toEqual([{ id: 1 }])
  } finally {
    await db.close()
  }
})
