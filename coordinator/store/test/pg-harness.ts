import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Db } from '../db.ts'
import { migrate } from '../migrate.ts'
import { openPg } from '../pg.ts'

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Whether Postgres answers; the tests that need it skip, loudly, when it does not. */
export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch (err) {
    // CI starts Postgres itself: there, a missing server is a failure, never a skip.
    if (process.env.CI)
      throw new Error(`Postgres at ${DATABASE_URL} is unreachable in CI`, { cause: err })
    // Straight to stderr: a skipped suite must be noticed (console's type is clobbered here
    // by AssemblyScript's global declarations).
    process.stderr.write(
      `WARNING: Postgres at ${DATABASE_URL} is unreachable (${(err as Error).message}): skipping its tests\n`,
    )
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

export interface TestSchema {
  name: string
  /** A pool whose every connection works in the schema. */
  open(max?: number): Db
  drop(): Promise<void>
}

/** A fresh schema, so test files running in parallel never see each other's tables. */
export async function createTestSchema(): Promise<TestSchema> {
  const name = `t_${randomBytes(6).toString('hex')}`
  const admin = (sql: string) => {
    const db = openPg({ connectionString: DATABASE_URL, max: 1 })
    return db.exec(sql).finally(() => db.close())
  }
  await admin(`CREATE SCHEMA ${name}`)
  return {
    name,
    open: (max = 10) => openPg({ connectionString: DATABASE_URL, max, searchPath: name }),
    drop: () => admin(`DROP SCHEMA ${name} CASCADE`),
  }
}

/**
 * A migrated database in a fresh schema, for suites that run on Postgres as well as
 * PGlite; `teardown` closes it and drops the schema.
 */
export async function migratedTestDb(
  poolSize = 4,
): Promise<{ db: Db; teardown: () => Promise<void> }> {
  const schema = await createTestSchema()
  const db = schema.open(poolSize)
  await migrate(db)
  return {
    db,
    teardown: async () => {
      await db.close()
      await schema.drop()
    },
  }
}
