import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../db.ts'
import { migrate, readMigrations } from '../migrate.ts'
import { changesContract } from './contract-changes.ts'
import { commitContract } from './contract-commit.ts'
import { fileOpsContract } from './contract-delete-move.ts'
import { identityContract } from './contract-identity.ts'
import { uploadsContract } from './contract-uploads.ts'

export interface StoreHarness {
  db: Db
  /** Closes the store and removes whatever setup created. */
  teardown(): Promise<void>
}

/**
 * The behaviour every metadata store must show, whatever runs the SQL. An implementation
 * calls this once with a setup that gives an empty database; tests share it and keep
 * apart by creating their own accounts.
 */
export function runStoreContract(name: string, setup: () => Promise<StoreHarness>): void {
  describe(`metadata store contract: ${name}`, () => {
    let harness: StoreHarness | undefined
    const db = (): Db => {
      if (!harness) throw new Error('store not set up')
      return harness.db
    }

    beforeAll(async () => {
      harness = await setup()
      await migrate(harness.db)
    })
    afterAll(async () => {
      await harness?.teardown()
    })

    it('applies migrations once: a second run finds nothing to do', async () => {
      expect(await migrate(db())).toEqual([])
      const { rows } = await db().query<{ name: string }>(
        'SELECT name FROM schema_migrations ORDER BY name',
      )
      expect(rows.map((r) => r.name)).toEqual(readMigrations().map((m) => m.name))
    })

    it('rolls a failed transaction back', async () => {
      await expect(
        db().transaction(async (tx) => {
          await tx.query(
            `INSERT INTO accounts (id, created_at) VALUES ('00000000-0000-4000-8000-000000000001', now())`,
          )
          throw new Error('abort')
        }),
      ).rejects.toThrow('abort')
      const { rows } = await db().query(
        `SELECT id FROM accounts WHERE id = '00000000-0000-4000-8000-000000000001'`,
      )
      expect(rows).toEqual([])
    })

    identityContract(db)
    uploadsContract(db)
    commitContract(db)
    fileOpsContract(db)
    changesContract(db)
  })
}
