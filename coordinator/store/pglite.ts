import { mkdirSync } from 'node:fs'
import { PGlite, type Transaction } from '@electric-sql/pglite'
import { type Db, INT8_OID, parseInt8 } from './db.ts'

export interface PgliteOptions {
  /** A directory to persist in; omitted, the database lives in memory and dies with it. */
  dataDir?: string
}

/**
 * The embedded store. PGlite is one Postgres backend in WebAssembly: one connection, so
 * its `transaction()` holds a mutex that every other query and transaction waits on.
 * That serialises transactions for us; concurrency is simply absent, not simulated. One
 * process only per data directory.
 */
export async function openPglite(options: PgliteOptions = {}): Promise<Db> {
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
