/**
 * The embedded database's own thread (see pglite.ts): PGlite is WebAssembly that runs each
 * statement to its end without yielding, so here it holds this thread, not the event loop's.
 * Messages from pglite.ts are answered in the order their work finishes; PGlite's own
 * mutexes order the statements as they would on one thread.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { PGlite, type Transaction } from '@electric-sql/pglite'
import { INT8_OID, parseInt8 } from './db.ts'
import type { CompiledModules } from './pglite.ts'
import type { Reply, Request, WorkerError } from './pglite-messages.ts'

const port = parentPort!
const { dataDir, ...modules } = workerData as { dataDir?: string } & CompiledModules

/** Thrown inside PGlite's transaction to roll it back when the caller's function failed. */
const ROLLBACK = Symbol('rollback')

interface OpenTransaction {
  tx: Transaction
  end: (commit: boolean) => void
  settled: Promise<unknown>
}
const transactions = new Map<number, OpenTransaction>()

/** The error's fields (SQLSTATE `code` and the rest) survive the trip; the parameters do not. */
function toWire(err: unknown): WorkerError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), fields: {} }
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(err)) {
    if (key !== 'params' && key !== 'query' && (value === null || typeof value !== 'object'))
      fields[key] = value
  }
  return { name: err.name, message: err.message, fields }
}

function target(pglite: PGlite, tx: number | undefined): PGlite | Transaction {
  if (tx === undefined) return pglite
  const open = transactions.get(tx)
  if (!open) throw new Error(`transaction ${tx} is not open`)
  return open.tx
}

/** Opens a transaction and resolves once it is open; it ends on the `end` message. */
function begin(pglite: PGlite, id: number): Promise<void> {
  return new Promise((opened, failed) => {
    const settled = pglite.transaction(async (tx) => {
      const commit = await new Promise<boolean>((end) => {
        transactions.set(id, { tx, end, settled })
        opened()
      })
      if (!commit) throw ROLLBACK
    })
    // Before it opened (BEGIN failed), nobody else will await it.
    settled.catch((err: unknown) => {
      if (!transactions.has(id)) failed(err)
    })
  })
}

async function end(id: number, commit: boolean): Promise<void> {
  const open = transactions.get(id)
  if (!open) throw new Error(`transaction ${id} is not open`)
  open.end(commit)
  try {
    await open.settled
  } catch (err) {
    if (err !== ROLLBACK) throw err
  } finally {
    transactions.delete(id)
  }
}

async function handle(pglite: PGlite, request: Request): Promise<unknown> {
  switch (request.op) {
    case 'query':
      return (await target(pglite, request.tx).query(request.sql, request.params)).rows
    case 'exec':
      await target(pglite, request.tx).exec(request.sql)
      return undefined
    case 'begin':
      return begin(pglite, request.tx)
    case 'end':
      return end(request.tx, request.commit)
    case 'close':
      await pglite.close()
      return undefined
  }
}

const send = (reply: Reply) => port.postMessage(reply)

try {
  const pglite = await PGlite.create({
    ...(dataDir && { dataDir }),
    ...modules,
    parsers: { [INT8_OID]: parseInt8 },
  })
  port.on('message', (request: Request) => {
    handle(pglite, request).then(
      (value) => send({ id: request.id, ok: true, value }),
      (err: unknown) => send({ id: request.id, ok: false, error: toWire(err) }),
    )
  })
  send({ id: 0, ok: true, value: undefined })
} catch (err) {
  send({ id: 0, ok: false, error: toWire(err) })
}
