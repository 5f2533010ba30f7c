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
  return dbOver(pglite, {
    transaction: (fn) => pglite.transaction((tx) => fn(transactionDb(tx))),
    close: () => pglite.close(),
  })
}

function transactionDb(tx: Transaction): Db {
  const db: Db = dbOver(tx, {
    transaction: (fn) => fn(db),
    async close() {
      throw new Error('close() the store, not a transaction')
    },
  })
  return db
}

/** Queries on the database or on one of its transactions; the rest as given. */
function dbOver(target: PGlite | Transaction, rest: Pick<Db, 'transaction' | 'close'>): Db {
  return {
    kind: 'pglite',
    async query<T extends object>(sql: string, params?: readonly unknown[]) {
      const result = await target.query<T>(sql, params as unknown[] | undefined)
      return { rows: result.rows }
    },
    async exec(sql) {
      await target.exec(sql)
    },
    ...rest,
  }
}
