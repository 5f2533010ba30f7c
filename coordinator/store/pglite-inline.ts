import { mkdirSync } from 'node:fs'
import { PGlite, type Transaction } from '@electric-sql/pglite'
import { type Db, INT8_OID, parseInt8 } from './db.ts'
import type { PgliteOptions } from './pglite.ts'

/**
 * The embedded store on the calling thread (see pglite.ts for the worker the coordinator
 * uses). For the deterministic simulator: its virtual clock waits for work in progress,
 * and an answer from another thread would arrive at a moment no seed decides.
 */
export async function openPgliteInline(options: PgliteOptions = {}): Promise<Db> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true })
  const pglite = await PGlite.create({
    ...(options.dataDir && { dataDir: options.dataDir }),
    parsers: { [INT8_OID]: parseInt8 },
  })

  const db: Db = {
    kind: 'pglite',
    async query<T extends object>(sql: string, params?: readonly unknown[]) {
      const result = await pglite.query<T>(sql, params as unknown[] | undefined)
      return { rows: result.rows }
    },
    async exec(sql) {
      await pglite.exec(sql)
    },
    transaction: (fn) => pglite.transaction((tx) => fn(transactionDb(tx))),
    async close() {
      await pglite.close()
    },
  }
  return db
}

function transactionDb(tx: Transaction): Db {
  const db: Db = {
    kind: 'pglite',
    async query<T extends object>(sql: string, params?: readonly unknown[]) {
      const result = await tx.query<T>(sql, params as unknown[] | undefined)
      return { rows: result.rows }
    },
    async exec(sql) {
      await tx.exec(sql)
    },
    // Calling the outer PGlite here would wait for this very transaction: deadlock.
    transaction: (fn) => fn(db),
    async close() {
      throw new Error('close() the store, not a transaction')
    },
  }
  return db
}
