import { mkdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { Db } from './db.ts'
import type { Reply, Request, WorkerError } from './pglite-messages.ts'

export interface PgliteOptions {
  /** A directory to persist in; omitted, the database lives in memory and dies with it. */
  dataDir?: string
}

export interface CompiledModules {
  pgliteWasmModule: WebAssembly.Module
  initdbWasmModule: WebAssembly.Module
}

let compiled: Promise<CompiledModules> | undefined

/**
 * PGlite's WebAssembly, compiled once per process and handed to every worker: compiled
 * in each worker, every store opened would pay for it again (the tests open many).
 */
function compiledModules(): Promise<CompiledModules> {
  compiled ??= (async () => {
    const dist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'))
    const compile = async (file: string) => WebAssembly.compile(await readFile(join(dist, file)))
    const [pgliteWasmModule, initdbWasmModule] = await Promise.all([
      compile('pglite.wasm'),
      compile('initdb.wasm'),
    ])
    return { pgliteWasmModule, initdbWasmModule }
  })()
  return compiled
}

type Call = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never

/**
 * The embedded store. PGlite is one Postgres backend in WebAssembly: one connection, so
 * its `transaction()` holds a mutex that every other query and transaction waits on.
 * That serialises transactions for us; concurrency is simply absent, not simulated. One
 * process only per data directory.
 *
 * PGlite runs in a worker thread (pglite-worker.ts): a statement runs to its end without
 * yielding, and on the event loop's thread a large insert held every other request until
 * it ended. Here the event loop only waits for the answer.
 */
export async function openPglite(options: PgliteOptions = {}): Promise<Db> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true })
  const worker = new Worker(new URL('./pglite-worker.ts', import.meta.url), {
    workerData: { dataDir: options.dataDir, ...(await compiledModules()) },
  })
  const pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (err: Error) => void }
  >()
  let nextId = 1
  let gone: Error | undefined
  const settle = (id: number) => {
    const waiter = pending.get(id)
    pending.delete(id)
    // Idle, the worker does not keep the process alive, as PGlite on this thread did not.
    if (pending.size === 0) worker.unref()
    return waiter
  }
  worker.on('message', (reply: Reply) => {
    const waiter = settle(reply.id)
    if (reply.ok) waiter?.resolve(reply.value)
    else waiter?.reject(fromWire(reply.error))
  })
  const fail = (err: Error) => {
    gone ??= err
    for (const id of [...pending.keys()]) settle(id)?.reject(err)
  }
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`the PGlite worker exited (code ${code})`)))

  const waitFor = (id: number) =>
    new Promise<unknown>((resolve, reject) => {
      if (gone) return reject(gone)
      if (pending.size === 0) worker.ref()
      pending.set(id, { resolve, reject })
    })
  const call = (request: Call): Promise<unknown> => {
    const id = nextId++
    const answer = waitFor(id)
    if (!gone) worker.postMessage({ ...request, id })
    return answer
  }

  await waitFor(0).catch(async (err: unknown) => {
    await worker.terminate()
    throw err
  })

  let nextTx = 1
  const handle = (tx: number | undefined): Db => {
    const db: Db = {
      kind: 'pglite',
      async query<T extends object>(sql: string, params?: readonly unknown[]) {
        const rows = await call({ op: 'query', tx, sql, params: params as unknown[] | undefined })
        return { rows: rows as T[] }
      },
      async exec(sql) {
        await call({ op: 'exec', tx, sql })
      },
      transaction: async (fn) => {
        // Calling the outer store here would wait for this very transaction: deadlock.
        if (tx !== undefined) return fn(db)
        const id = nextTx++
        await call({ op: 'begin', tx: id })
        let result: Awaited<ReturnType<typeof fn>>
        try {
          result = await fn(handle(id))
        } catch (err) {
          await call({ op: 'end', tx: id, commit: false }).catch(() => {})
          throw err
        }
        await call({ op: 'end', tx: id, commit: true })
        return result
      },
      async close() {
        if (tx !== undefined) throw new Error('close() the store, not a transaction')
        await call({ op: 'close' })
        await worker.terminate()
      },
    }
    return db
  }
  return handle(undefined)
}

/** The worker's error as thrown here: same message and fields, this thread's stack. */
function fromWire(wire: WorkerError): Error {
  const err = Object.assign(new Error(wire.message), wire.fields)
  err.name = wire.name
  return err
}
