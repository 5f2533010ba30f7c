/**
 * Synthetic file versions written in bulk, set-based, into a migrated schema: the rows a
 * real commit leaves (files, file_versions with their manifest, chunks, changes, and the
 * committed upload session with its chunk rows, which the coordinator keeps), for many
 * accounts at once. Paths, sizes and chunk ids are derived from the row numbers, so a run
 * is repeatable and nothing crosses the wire row by row.
 */
import pg from 'pg'

/** Files of every synthetic account but the big one. */
export const SMALL_ACCOUNT_FILES = 1000
/** One file in four has a second version; one version in ten is a large file of three
 * chunks, the rest fit in one. */
export const VERSIONS_PER_FILE = 1.25

export interface LoadPlan {
  /** The seeded account that gets `bigFiles` files, and its device. */
  big: { accountId: string; deviceId: string }
  bigFiles: number
  /** File versions wanted in all (the big account's included). */
  versions: number
  /** Versions per batch (one transaction each). */
  batchVersions: number
}

export interface LoadProgress {
  versions: number
  elapsedMs: number
}

/** Opens a session tuned for a bulk load: commits need not wait for the WAL flush, and the
 * foreign-key triggers are skipped (every id written here comes from rows written here). */
export async function loadSession(connectionString: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  await client.query(`SET synchronous_commit = off`)
  await client.query(`SET work_mem = '256MB'`)
  await client.query(`SET maintenance_work_mem = '512MB'`)
  // A batch's temp tables stay in memory instead of spilling (set before the first one).
  await client.query(`SET temp_buffers = '512MB'`)
  // Needs a superuser; without it the load only runs slower.
  await client.query(`SET session_replication_role = replica`).catch(() => {})
  return client
}

/** The accounts to fill: synthetic ones of SMALL_ACCOUNT_FILES files, then the big one. */
async function planAccounts(client: pg.Client, plan: LoadPlan): Promise<number> {
  const bigVersions = plan.bigFiles * VERSIONS_PER_FILE
  const small = Math.max(
    0,
    Math.round((plan.versions - bigVersions) / (SMALL_ACCOUNT_FILES * VERSIONS_PER_FILE)),
  )
  // A table, not a temp table: the loaders' sessions all read it (dropped after the load).
  await client.query(`CREATE TABLE scale_accounts (
    ord int PRIMARY KEY, id uuid NOT NULL, device_id uuid NOT NULL, nfiles int NOT NULL)`)
  await client.query(
    `WITH a AS (
       INSERT INTO accounts (id, created_at)
       SELECT gen_random_uuid(), timestamptz '2026-01-01' FROM generate_series(1, $1::int)
       RETURNING id),
     d AS (
       INSERT INTO devices (account_id, name, credential_hash, created_at)
       SELECT id, 'laptop', encode(sha256(id::text::bytea), 'hex'), timestamptz '2026-01-01'
       FROM a RETURNING id, account_id)
     INSERT INTO scale_accounts (ord, id, device_id, nfiles)
     SELECT row_number() OVER (ORDER BY account_id), account_id, id, $2::int FROM d`,
    [small, SMALL_ACCOUNT_FILES],
  )
  await client.query(`INSERT INTO scale_accounts VALUES ($1, $2, $3, $4)`, [
    small + 1,
    plan.big.accountId,
    plan.big.deviceId,
    plan.bigFiles,
  ])
  return small + 1
}

/**
 * One batch: the files of accounts `from..to` (by ord), their versions, chunks, changes and
 * sessions, in one transaction. Temp tables hold the batch so each table is one INSERT.
 */
const BATCH_SQL = [
  `CREATE TEMP TABLE sf ON COMMIT DROP AS
   SELECT gen_random_uuid() AS id, a.id AS account_id, a.device_id, k,
     (ARRAY['Documents/Reports', 'Photos/2025/Summer', 'Music/Albums', 'Projects/app/src',
            'Desktop', 'Downloads/Invoices'])[k % 6 + 1]
       || '/folder-' || (k / 40) || '/'
       || (ARRAY['report', 'IMG', 'track', 'module', 'notes', 'invoice'])[k % 6 + 1]
       || '-' || k
       || (ARRAY['.docx', '.jpg', '.flac', '.ts', '.md', '.pdf'])[k % 6 + 1] AS path,
     CASE WHEN k % 4 = 0 THEN 2 ELSE 1 END AS versions
   FROM scale_accounts a CROSS JOIN generate_series(1, a.nfiles) k
   WHERE a.ord BETWEEN {from} AND {to}`,
  `CREATE TEMP TABLE sv ON COMMIT DROP AS
   SELECT f.id AS file_id, f.account_id, f.device_id, f.path, f.k, v AS version,
     gen_random_uuid() AS session_id,
     CASE WHEN (f.k + v) % 10 = 0 THEN 3 ELSE 1 END AS nchunks,
     md5(f.id::text || v) || md5(v || f.id::text) AS hash,
     row_number() OVER (PARTITION BY f.account_id ORDER BY v, f.k) AS seq
   FROM sf f CROSS JOIN generate_series(1, f.versions) v`,
  `CREATE TEMP TABLE sc ON COMMIT DROP AS
   SELECT v.file_id, v.version, v.account_id, c - 1 AS idx,
     md5(v.hash || c) || md5(c || v.hash) AS chunk_id,
     md5(v.hash || 's' || c) || md5('s' || c || v.hash) AS seal,
     CASE WHEN v.nchunks = 1 THEN 100 + (v.k * 7919 + v.version * 104729) % 2000000
          ELSE 4194304 + ((v.k + c) * 7919) % 1048576 END AS size
   FROM sv v CROSS JOIN generate_series(1, v.nchunks) c`,
  `CREATE TEMP TABLE sm ON COMMIT DROP AS
   SELECT x.file_id, x.version, x.size,
     jsonb_build_object('size', x.size, 'hash', v.hash, 'chunks', x.chunks) AS manifest
   FROM (SELECT file_id, version, sum(size)::bigint AS size,
           jsonb_agg(jsonb_build_object('index', idx, 'id', chunk_id, 'offset', off,
             'size', size, 'cipherSize', size + 16, 'seal', seal) ORDER BY idx) AS chunks
         FROM (SELECT *, sum(size) OVER (PARTITION BY file_id, version ORDER BY idx) - size
                 AS off FROM sc) c
         GROUP BY file_id, version) x
   JOIN sv v USING (file_id, version)`,
  `INSERT INTO files (id, account_id, path, version, deleted, updated_at)
   SELECT id, account_id, path, versions, false, timestamptz '2026-01-01' FROM sf`,
  `INSERT INTO file_versions (file_id, version, domain, size, hash, manifest, device_id,
     created_at)
   SELECT v.file_id, v.version, 'account:' || v.account_id, m.size, v.hash, m.manifest,
     v.device_id,
     timestamptz '2026-01-01' + v.seq * interval '1 second'
   FROM sv v JOIN sm m USING (file_id, version)`,
  `INSERT INTO chunks (domain, id, cipher_size, refcount, zero_since, created_at, owner)
   SELECT 'account:' || account_id, chunk_id, size + 16, 1, NULL, timestamptz '2026-01-01',
     account_id
   FROM sc`,
  `INSERT INTO changes (account_id, seq, kind, file_id, path, version, device_id, committed_at)
   SELECT account_id, seq, CASE WHEN version = 1 THEN 'created' ELSE 'modified' END, file_id,
     path, version, device_id, timestamptz '2026-01-01' + seq * interval '1 second'
   FROM sv`,
  `INSERT INTO upload_sessions (id, account_id, device_id, domain, path, base_file_id,
     base_version, manifest, state, created_at, expires_at, result)
   SELECT v.session_id, v.account_id, v.device_id, 'account:' || v.account_id, v.path,
     CASE WHEN v.version > 1 THEN v.file_id END, NULLIF(v.version - 1, 0),
     m.manifest, 'committed',
     timestamptz '2026-01-01' + v.seq * interval '1 second',
     timestamptz '2026-01-01' + v.seq * interval '1 second' + interval '1 day',
     jsonb_build_object('fileId', v.file_id, 'path', v.path, 'version', v.version,
       'kind', CASE WHEN v.version = 1 THEN 'created' ELSE 'modified' END, 'seq', v.seq,
       'conflictCopy', NULL)
   FROM sv v JOIN sm m USING (file_id, version)`,
  `INSERT INTO session_chunks (session_id, idx, chunk_id, cipher_size)
   SELECT v.session_id, c.idx, c.chunk_id, c.size + 16
   FROM sc c JOIN sv v USING (file_id, version)`,
  `UPDATE accounts a SET last_seq = n.last FROM (
     SELECT account_id, max(seq) AS last FROM sv GROUP BY account_id) n
   WHERE a.id = n.account_id`,
]

/**
 * Loads the plan in batches on `sessions` (one batch at a time on each), calling `progress`
 * after each; answers the versions written. The planning table is dropped at the end.
 */
export async function bulkLoad(
  sessions: pg.Client[],
  plan: LoadPlan,
  progress: (p: LoadProgress) => void,
): Promise<number> {
  const started = performance.now()
  const first = sessions[0]!
  const accounts = await planAccounts(first, plan)
  const perBatch = Math.max(
    1,
    Math.floor(plan.batchVersions / (SMALL_ACCOUNT_FILES * VERSIONS_PER_FILE)),
  )
  // The big account (the last ord) is a batch of its own.
  const bounds: [number, number][] = []
  for (let from = 1; from < accounts; from += perBatch)
    bounds.push([from, Math.min(accounts - 1, from + perBatch - 1)])
  bounds.push([accounts, accounts])
  let versions = 0
  const worker = async (client: pg.Client) => {
    for (let next = bounds.shift(); next; next = bounds.shift()) {
      const [from, to] = next
      await client.query('BEGIN')
      // Utility statements (CREATE TABLE AS) take no bind parameters: the bounds are ours.
      for (const sql of BATCH_SQL)
        await client.query(sql.replace('{from}', String(from)).replace('{to}', String(to)))
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM sv')
      await client.query('COMMIT')
      versions += Number(rows[0]!.n)
      progress({ versions, elapsedMs: performance.now() - started })
    }
  }
  await Promise.all(sessions.map(worker))
  await first.query('DROP TABLE scale_accounts')
  return versions
}
