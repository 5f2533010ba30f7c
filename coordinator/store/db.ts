/**
 * The one interface every repository is written against. Two implementations sit behind
 * it: Postgres through a `pg` pool (production) and PGlite (embedded, no setup). The SQL
 * is the same on both, so a repository runs unchanged on either.
 */
export interface Db {
  /** `pg` for a server behind a pool, `pglite` for the embedded single connection. */
  readonly kind: 'pg' | 'pglite'
  /** One statement with `$1`-style parameters. */
  query<T extends object = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<{ rows: T[] }>
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>
  /**
   * Runs `fn` in one transaction: committed if it resolves, rolled back if it throws.
   * Called on a transaction's own `Db`, it joins that transaction (no savepoint): a
   * repository function can open a transaction whether or not its caller already has one.
   */
  transaction<R>(fn: (tx: Db) => Promise<R>): Promise<R>
  close(): Promise<void>
}

/** Postgres type oid of `bigint` (int8). */
export const INT8_OID = 20

/**
 * Sizes and sequence numbers are `bigint` columns, but every value we store fits a double
 * (64 GiB files, per-account counters), so both drivers hand them out as numbers. A value
 * that does not fit is a bug to surface, not to round.
 */
export function parseInt8(text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n))
    throw new RangeError(`bigint ${text} does not fit a JavaScript number`)
  return n
}

/** SQLSTATE codes we branch on. */
export const SQLSTATE = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
} as const

export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** A JSON value for a `$n::jsonb` parameter. `pg` would turn a bare array into a SQL array. */
export function json(value: unknown): string {
  return JSON.stringify(value)
}

/** Socket-level failures: the server is down, restarting or unreachable. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

/**
 * Whether `err` says the metadata store cannot be reached, rather than that a statement
 * failed: SQLSTATE class 08 (connection exception), 57P01-57P03 (shutting down, crashed,
 * starting up), 53300 (too many connections), a socket error, or `pg`'s own messages for
 * a connection that ended or never came.
 */
export function isStoreUnreachable(err: unknown): boolean {
  const code = sqlState(err)
  if (code && (code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300')) return true
  if (code && NETWORK_CODES.has(code)) return true
  const message = err instanceof Error ? err.message : ''
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|connect ECONNREFUSED/.test(
    message,
  )
}
