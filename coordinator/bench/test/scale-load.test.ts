/**
 * The rows bench:scale loads in bulk are rows the coordinator could have written: valid
 * manifests, gapless change logs that the feed reads back, refcounts that match the
 * manifests, files pointing at their latest version. Figures measured on anything else
 * would not be the coordinator's.
 */
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validateManifest } from '../../../protocol/manifest.ts'
import { changesAfter } from '../../store/changes.ts'
import type { Db } from '../../store/index.ts'
import { migrate } from '../../store/migrate.ts'
import {
  createTestSchema,
  postgresReachable,
  type TestSchema,
} from '../../store/test/pg-harness.ts'
import { databaseUrlFor } from '../../test/process-harness.ts'
import { bulkLoad, loadSession, SMALL_ACCOUNT_FILES } from '../scale-load.ts'
import { type SeededDevice, seedViaStore } from '../seed.ts'

const BIG_FILES = 200

describe.skipIf(!(await postgresReachable()))('bench:scale bulk load', () => {
  let schema: TestSchema
  let db: Db
  let sessions: pg.Client[]
  let big: SeededDevice
  let loaded: number

  beforeAll(async () => {
    schema = await createTestSchema()
    db = schema.open(2)
    await migrate(db)
    big = (await seedViaStore(db, [1]))[0]![0]!
    sessions = await Promise.all([1, 2].map(() => loadSession(databaseUrlFor(schema.name))))
    loaded = await bulkLoad(
      sessions,
      {
        big,
        bigFiles: BIG_FILES,
        versions: 3 * SMALL_ACCOUNT_FILES * 1.25 + 250,
        batchVersions: 1250,
      },
      () => {},
    )
  })

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.end()))
    await db.close()
    await schema.drop()
  })

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await db.query<{ n: string }>(sql, params)).rows[0]!.n)

  it('writes the versions it reports, in accounts of the planned sizes, and drops its plan', async () => {
    expect(loaded).toBe(await count('SELECT count(*) AS n FROM file_versions'))
    // Three accounts of 1,000 files and the big one, 1.25 versions a file.
    expect(loaded).toBe(3 * 1250 + 250)
    expect(
      await count('SELECT count(*) AS n FROM files WHERE account_id = $1', [big.accountId]),
    ).toBe(BIG_FILES)
    expect(
      await count(
        `SELECT count(*) AS n FROM pg_tables WHERE tablename = 'scale_accounts' AND schemaname = current_schema()`,
      ),
    ).toBe(0)
  })

  it('stores manifests the protocol accepts, matching the version row', async () => {
    const { rows } = await db.query<{ manifest: unknown; size: number; hash: string }>(
      'SELECT manifest, size, hash FROM file_versions',
    )
    for (const row of rows) {
      const manifest = validateManifest(row.manifest)
      expect([manifest.size, manifest.hash]).toEqual([Number(row.size), row.hash])
    }
    // Both the one-chunk and the three-chunk kind are there.
    const lengths = new Set(rows.map((r) => (r.manifest as { chunks: unknown[] }).chunks.length))
    expect([...lengths].sort()).toEqual([1, 3])
  })

  it('gives every account a gapless change log that the feed reads back to last_seq', async () => {
    const gaps = await count(
      `SELECT count(*) AS n FROM accounts a
       WHERE a.last_seq <> (SELECT count(*) FROM changes c WHERE c.account_id = a.id)
          OR a.last_seq <> coalesce((SELECT max(seq) FROM changes c WHERE c.account_id = a.id), 0)`,
    )
    expect(gaps).toBe(0)
    const page = await changesAfter(db, big.accountId, 0, 1000)
    expect(page.changes.map((c) => c.seq)).toEqual(
      Array.from({ length: BIG_FILES * 1.25 }, (_, i) => i + 1),
    )
    expect(page.changes.every((c) => c.manifest !== null)).toBe(true)
    expect(page.changes.filter((c) => c.kind === 'modified')).toHaveLength(BIG_FILES / 4)
  })

  it('counts each chunk once per manifest naming it, and points files at their latest version', async () => {
    const wrongRefcount = await count(
      `WITH named AS (
         SELECT v.domain, e->>'id' AS id, count(*) AS n FROM file_versions v,
           jsonb_array_elements(v.manifest->'chunks') e GROUP BY 1, 2)
       SELECT count(*) AS n FROM chunks c FULL JOIN named USING (domain, id)
       WHERE c.owner IS DISTINCT FROM substr(c.domain, 9)::uuid
          OR c.refcount IS DISTINCT FROM named.n::int`,
    )
    expect(wrongRefcount).toBe(0)
    const stale = await count(
      `SELECT count(*) AS n FROM files f
       WHERE f.version <> (SELECT max(version) FROM file_versions v WHERE v.file_id = f.id)`,
    )
    expect(stale).toBe(0)
  })
})
