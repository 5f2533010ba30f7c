import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { openStore } from '../index.ts'
import { openPglite } from '../pglite.ts'
import { runStoreContract } from './store.contract.ts'

runStoreContract('PGlite in memory', async () => {
  const db = await openPglite()
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
