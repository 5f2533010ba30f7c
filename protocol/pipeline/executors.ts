import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { encryptChunk } from '../crypto/chunk-cipher.ts'
import { CloudsyncError } from '../errors.ts'
import { type ChunkExecutor, type ChunkJob, type ChunkJobResult, chunkJobResult } from './jobs.ts'

/** Runs jobs on the calling thread: for small files, where starting workers costs more. */
export function inlineExecutor(slabs: SharedArrayBuffer[], secret: Uint8Array): ChunkExecutor {
  return {
    async run(job) {
      const plaintext = new Uint8Array(slabs[job.slab]!, job.offset, job.length)
      const chunk = encryptChunk(secret, plaintext, { keepCiphertext: job.keepCiphertext })
      return {
        ...chunkJobResult(job.index, chunk),
        ...(chunk.ciphertext && { ciphertext: chunk.ciphertext }),
      }
    },
    async close() {},
  }
}

type Reply = { ok: ChunkJobResult } | { error: { index: number; message: string } }

/**
 * A fixed pool of worker threads sharing the slabs. Each job goes to the worker with the
 * fewest jobs queued, so a slow chunk does not hold up the others.
 */
export function workerPool(
  slabs: SharedArrayBuffer[],
  secret: Uint8Array,
  size = availableParallelism(),
): ChunkExecutor {
  const workers = Array.from({ length: Math.max(1, size) }, () => {
    const worker = new Worker(new URL('./chunk-worker.ts', import.meta.url), {
      workerData: { slabs, secret },
    })
    const waiting = new Map<number, PromiseWithResolvers<ChunkJobResult>>()
    worker.on('message', (reply: Reply) => {
      const index = 'ok' in reply ? reply.ok.index : reply.error.index
      const pending = waiting.get(index)
      waiting.delete(index)
      if ('ok' in reply) pending?.resolve(reply.ok)
      else
        pending?.reject(
          new CloudsyncError('INVALID_INPUT', `Chunk ${index} failed: ${reply.error.message}`),
        )
    })
    worker.on('error', (err) => {
      for (const p of waiting.values()) p.reject(err)
      waiting.clear()
    })
    return { worker, waiting }
  })
  return {
    run(job: ChunkJob) {
      const target = workers.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a))
      const pending = Promise.withResolvers<ChunkJobResult>()
      target.waiting.set(job.index, pending)
      target.worker.postMessage(job)
      return pending.promise
    },
    async close() {
      await Promise.all(workers.map((w) => w.worker.terminate()))
    },
  }
}
