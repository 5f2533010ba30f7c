import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Db } from './db.ts'

export const MIGRATIONS_DIR = join(import.meta.dirname, 'migrations')

/**
 * `001_init.sql`: applied in the order of their names, each exactly once, and recorded by
 * name. Two carry 002 (device_presence, possession_gc): renumbering one would make every
 * existing database apply it again, so they keep their names.
 */
const MIGRATION_FILE = /^\d+_[\w-]+\.sql$/

export interface Migration {
  name: string
  sql: string
}

export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((name) => MIGRATION_FILE.test(name))
    .sort()
    .map((name) => ({ name, sql: readFileSync(join(dir, name), 'utf8') }))
}

/**
 * Applies the migrations not yet recorded in `schema_migrations`, all in one transaction,
 * and returns their names. Several coordinators may start at once against one Postgres:
 * a transaction-scoped advisory lock (keyed by schema, so test schemas do not wait on
 * each other) lets one migrate while the others wait and then find nothing to do.
 */
export async function migrate(
  db: Db,
  migrations: Migration[] = readMigrations(),
): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query(
      `SELECT pg_advisory_xact_lock(hashtext('cloudsync.migrate:' || current_schema()))`,
    )
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const { rows } = await tx.query<{ name: string }>('SELECT name FROM schema_migrations')
    const done = new Set(rows.map((r) => r.name))
    const applied: string[] = []
    for (const m of migrations) {
      if (done.has(m.name)) continue
      await tx.exec(m.sql)
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [m.name])
      applied.push(m.name)
    }
    return applied
  })
}
