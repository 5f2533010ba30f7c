import type { Db } from './db.ts'
import { migrate } from './migrate.ts'
import { openPg } from './pg.ts'
import { openPglite } from './pglite.ts'
import { openPgliteInline } from './pglite-inline.ts'

export type { Db } from './db.ts'

/**
 * Where metadata lives (docs/DESIGN.md "Two modes, one code path"): a Postgres URL in
 * production; otherwise embedded PGlite, persisted in `dataDir`, or in memory if neither
 * is given (tests).
 */
export interface StoreConfig {
  databaseUrl?: string
  dataDir?: string
  /** Connections in the Postgres pool. */
  poolSize?: number
  /** The embedded store on the calling thread, not a worker (the deterministic simulator). */
  inline?: boolean
}

/** `DATABASE_URL` wins; without it, the embedded store persists in `dataDir` if given. */
export function storeConfigFromEnv(env: NodeJS.ProcessEnv, dataDir?: string): StoreConfig {
  if (env.DATABASE_URL) return { databaseUrl: env.DATABASE_URL }
  return dataDir ? { dataDir } : {}
}

/** Opens the store and brings its schema up to date before anyone queries it. */
export async function openStore(config: StoreConfig = {}): Promise<Db> {
  const db = config.databaseUrl
    ? openPg({
        connectionString: config.databaseUrl,
        ...(config.poolSize && { max: config.poolSize }),
      })
    : await (config.inline ? openPgliteInline : openPglite)(
        config.dataDir ? { dataDir: config.dataDir } : {},
      )
  try {
    await migrate(db)
  } catch (err) {
    await db.close()
    throw err
  }
  return db
}
