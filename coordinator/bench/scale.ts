/**
 * npm run bench:scale [-- --versions N] [--files-per-account N] [--json] [--keep]
 *
 * The billion-file plan, measured (docs/SCALE.md). In a fresh Postgres schema (DATABASE_URL,
 * migrated with the coordinator's own migrations) it bulk-loads `--versions` synthetic file
 * versions, set-based: accounts of 1,000 files and one big account of `--files-per-account`
 * files, each version with its manifest, chunk rows, change and committed upload session.
 * Then it measures bytes per file version (tables + indexes, in all and per table), and,
 * through a real coordinator on that schema and Redis, `GET /sync/changes` latency for the
 * big account (pages from cursor 0 and from near the head) and commit latency (init +
 * complete of a small file whose chunk is stored) in the big account and in a near-empty
 * one, beside `GET /healthz` from the same run as the yardstick. The schema is dropped at
 * the end unless `--keep`. A benchmark, not a test: figures vary with the machine's load.
 */
import { tmpdir } from 'node:os'
import { parseArgs } from 'node:util'
import type pg from 'pg'
import { exitOnHelp, report } from '../../protocol/bench/report.ts'
import { openStore } from '../store/index.ts'
import { createTestSchema } from '../store/test/pg-harness.ts'
import {
  backendsReachable,
  databaseUrlFor,
  REDIS_URL,
  sharedCoordinatorKey,
  spawnCoordinator,
} from '../test/process-harness.ts'
import { call, closeClient, commitFile, encryptedFile, expectStatus, percentile } from './client.ts'
import { bulkLoad, loadSession } from './scale-load.ts'
import { seedViaStore } from './seed.ts'

const options = {
  json: { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  versions: { type: 'string', default: '10000000' },
  'files-per-account': { type: 'string', default: '100000' },
  'batch-versions': { type: 'string', default: '250000' },
  loaders: { type: 'string', default: '2' },
  samples: { type: 'string', default: '100' },
} as const
exitOnHelp(options)
const { values: opts } = parseArgs({ options })
const versionsWanted = Number(opts.versions)
const bigFiles = Number(opts['files-per-account'])
const samples = Number(opts.samples)
for (const [name, n] of [
  ['--versions', versionsWanted],
  ['--files-per-account', bigFiles],
  ['--batch-versions', Number(opts['batch-versions'])],
  ['--loaders', Number(opts.loaders)],
  ['--samples', samples],
] as const) {
  if (!Number.isSafeInteger(n) || n < 1) {
    process.stderr.write(`${name} must be a positive whole number\n`)
    process.exit(2)
  }
}
const log = (line: string) => process.stderr.write(`${line}\n`)

if (!(await backendsReachable())) {
  log('bench:scale needs Postgres (DATABASE_URL) and Redis (REDIS_URL)')
  process.exit(2)
}

interface TableSize {
  table: string
  rows: number
  table_bytes: number
  index_bytes: number
  total_bytes: number
}

interface Latency {
  p50_ms: number
  p99_ms: number
  max_ms: number
  samples: number
}

const latency = (ms: number[]): Latency => ({
  p50_ms: round(percentile(ms, 50)),
  p99_ms: round(percentile(ms, 99)),
  max_ms: round(Math.max(...ms)),
  samples: ms.length,
})
const round = (n: number, digits = 2) => Number(n.toFixed(digits))

/** Times `task` `count` times in a row, one request at a time. */
async function timed(count: number, task: (i: number) => Promise<void>): Promise<number[]> {
  const ms: number[] = []
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    await task(i)
    ms.push(performance.now() - start)
  }
  return ms
}

const schema = await createTestSchema()
const databaseUrl = databaseUrlFor(schema.name)
const db = await openStore({ databaseUrl }) // migrates the schema
let coordinator: Awaited<ReturnType<typeof spawnCoordinator>> | undefined
let loaders: pg.Client[] = []
try {
  const seeded = await seedViaStore(db, [1, 1])
  const big = seeded[0]?.[0]
  const small = seeded[1]?.[0]
  if (!big || !small) throw new Error('seeding failed')

  log(`loading ${versionsWanted} versions into schema ${schema.name}`)
  loaders = await Promise.all(
    Array.from({ length: Number(opts.loaders) }, () => loadSession(databaseUrl)),
  )
  const loader = loaders[0]!
  const loadStart = performance.now()
  const versions = await bulkLoad(
    loaders,
    {
      big,
      bigFiles,
      versions: versionsWanted,
      batchVersions: Number(opts['batch-versions']),
    },
    ({ versions, elapsedMs }) =>
      log(
        `  ${versions} versions in ${(elapsedMs / 1000).toFixed(0)} s ` +
          `(${Math.round(versions / (elapsedMs / 1000))}/s)`,
      ),
  )
  const loadSeconds = (performance.now() - loadStart) / 1000
  // What autovacuum leaves in steady state: statistics, visibility and free-space maps.
  // Only this schema's tables: a bare VACUUM would walk every schema in the database.
  const own = await loader.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname = $1`,
    [schema.name],
  )
  const vacuumStart = performance.now()
  await loader.query(`VACUUM (ANALYZE) ${own.rows.map((r) => r.name).join(', ')}`)
  const vacuumSeconds = (performance.now() - vacuumStart) / 1000
  const sizes = await loader.query<{
    table: string
    rows: string
    table_bytes: string
    index_bytes: string
    total_bytes: string
  }>(
    `SELECT c.relname AS table, c.reltuples::bigint AS rows, pg_table_size(c.oid) AS table_bytes,
       pg_indexes_size(c.oid) AS index_bytes, pg_total_relation_size(c.oid) AS total_bytes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY total_bytes DESC`,
    [schema.name],
  )
  await Promise.all(loaders.splice(0).map((l) => l.end()))
  const tables: TableSize[] = sizes.rows.map((r) => ({
    table: r.table,
    rows: Math.max(0, Number(r.rows)),
    table_bytes: Number(r.table_bytes),
    index_bytes: Number(r.index_bytes),
    total_bytes: Number(r.total_bytes),
  }))
  const totalBytes = tables.reduce((sum, t) => sum + t.total_bytes, 0)
  const sessionBytes = tables
    .filter((t) => t.table === 'upload_sessions' || t.table === 'session_chunks')
    .reduce((sum, t) => sum + t.total_bytes, 0)

  // A real coordinator on the loaded schema.
  coordinator = await spawnCoordinator(
    { DATABASE_URL: databaseUrl, REDIS_URL, COORDINATOR_KEY: sharedCoordinatorKey() },
    { dataRoot: tmpdir(), timeoutMs: 120_000 },
  )
  const base = coordinator.url
  const bigFile = encryptedFile(big.secret)
  const smallFile = encryptedFile(small.secret)
  // One stored file each: its chunk is known, so every commit below needs no upload.
  await commitFile(base, big.credential, 'scale/seed.bin', bigFile)
  await commitFile(base, small.credential, 'scale/seed.bin', smallFile)

  const healthz = await timed(samples * 2, async () => {
    expectStatus(await call(`${base}/healthz`, 'GET'), 200, 'healthz')
  })
  const head = Number(
    (
      await db.query<{ last_seq: number }>('SELECT last_seq FROM accounts WHERE id = $1', [
        big.accountId,
      ])
    ).rows[0]!.last_seq,
  )
  /** `samples` pages in a row of the default size, from `start`. */
  const pages = async (start: number) => {
    let cursor = start
    return timed(samples, async () => {
      const page = expectStatus(
        await call(`${base}/sync/changes?cursor=${cursor}`, 'GET', { credential: big.credential }),
        200,
        'changes',
      )
      cursor = page.body.cursor
    })
  }
  const fromZero = await pages(0)
  const nearHead = await pages(Math.max(0, head - samples * 100))

  const commit = async (device: typeof big, file: typeof bigFile, path: string) => {
    const init = expectStatus(
      await call(`${base}/files/upload/init`, 'POST', {
        credential: device.credential,
        body: { path, ...file.manifest, baseVersion: null },
      }),
      201,
      'upload init',
    )
    expectStatus(
      await call(`${base}/files/upload/${init.body.sessionId}/complete`, 'POST', {
        credential: device.credential,
      }),
      200,
      'upload complete',
    )
  }
  // Interleaved, so both accounts see the same machine load.
  const commitBig: number[] = []
  const commitSmall: number[] = []
  for (let i = 0; i < samples; i++) {
    commitBig.push(...(await timed(1, () => commit(big, bigFile, `scale/new-${i}.bin`))))
    commitSmall.push(...(await timed(1, () => commit(small, smallFile, `scale/new-${i}.bin`))))
  }

  const figures = {
    versions,
    big_account_files: bigFiles,
    big_account_changes: head,
    load_seconds: round(loadSeconds, 1),
    load_versions_per_s: Math.round(versions / loadSeconds),
    vacuum_analyze_seconds: round(vacuumSeconds, 1),
    total_bytes: totalBytes,
    bytes_per_version: Math.round(totalBytes / versions),
    bytes_per_version_without_sessions: Math.round((totalBytes - sessionBytes) / versions),
    tables: tables.map((t) => ({ ...t, bytes_per_version: round(t.total_bytes / versions, 1) })),
    healthz: latency(healthz),
    changes_from_zero: latency(fromZero),
    changes_near_head: latency(nearHead),
    commit_big_account: latency(commitBig),
    commit_small_account: latency(commitSmall),
    schema: opts.keep ? schema.name : null,
  }
  const lat = (l: Latency) => `p50 ${l.p50_ms} ms, p99 ${l.p99_ms} ms, max ${l.max_ms} ms`
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`
  report(
    [
      [
        'file versions loaded',
        `${versions} (${bigFiles} files, ${head} changes in the big account)`,
      ],
      [
        'load',
        `${figures.load_seconds} s (${figures.load_versions_per_s} versions/s), VACUUM ANALYZE ${figures.vacuum_analyze_seconds} s`,
      ],
      ['tables + indexes', `${mb(totalBytes)}: ${figures.bytes_per_version} bytes per version`],
      [
        '  without upload sessions',
        `${figures.bytes_per_version_without_sessions} bytes per version`,
      ],
      ...tables
        .filter((t) => t.total_bytes > 64 * 1024)
        .map((t): [string, string] => [
          `  ${t.table}`,
          `${mb(t.table_bytes)} table + ${mb(t.index_bytes)} indexes = ${(t.total_bytes / versions).toFixed(1)} B/version (${t.rows} rows)`,
        ]),
      ['GET /healthz (yardstick)', lat(figures.healthz)],
      ['GET /sync/changes from cursor 0', lat(figures.changes_from_zero)],
      ['GET /sync/changes near the head', lat(figures.changes_near_head)],
      ['commit, big account', lat(figures.commit_big_account)],
      ['commit, near-empty account', lat(figures.commit_small_account)],
      ...(opts.keep ? [['schema kept', schema.name] as [string, string]] : []),
    ],
    figures,
    opts.json,
  )
} finally {
  await Promise.all(loaders.map((l) => l.end().catch(() => {})))
  await coordinator?.kill()
  closeClient()
  await db.close()
  if (!opts.keep) await schema.drop()
}
