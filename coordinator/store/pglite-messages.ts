/** What pglite.ts and its worker (pglite-worker.ts) say to each other. */

export type Request = { id: number } & (
  | { op: 'query'; tx?: number; sql: string; params?: unknown[] }
  | { op: 'exec'; tx?: number; sql: string }
  | { op: 'begin'; tx: number }
  | { op: 'end'; tx: number; commit: boolean }
  | { op: 'close' }
)

/** An error thrown in the worker: its own fields (SQLSTATE `code`, `detail`, ...) kept. */
export interface WorkerError {
  name: string
  message: string
  fields: Record<string, unknown>
}

/** The answer to request `id`; id 0 says the database is open (or could not be). */
export type Reply = { id: number } & (
  | { ok: true; value: unknown }
  | { ok: false; error: WorkerError }
)
