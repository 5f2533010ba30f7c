/**
 * Worker thread: hashes and encrypts chunks straight out of the shared slabs the main
 * thread reads the file into, and hands the ciphertext back without copying it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { encryptChunk } from '../crypto/chunk-cipher.ts'
import { youngGenerationCollector } from '../memory/collect-young.ts'
import { type ChunkJob, type ChunkJobResult, chunkJobResult } from './jobs.ts'

interface WorkerInit {
  slabs: SharedArrayBuffer[]
  secret: Uint8Array
}

const { slabs, secret } = workerData as WorkerInit

/**
 * A young-generation collection after every chunk. Encrypting a chunk leaves its size in
 * dead output slices, which live outside this thread's small JavaScript heap, so V8 would
 * collect only after a hundred MB or so of them had piled up, per worker: collecting
 * after each chunk costs a little time and keeps the encoder's peak RSS far lower.
 */
const collectYoung = youngGenerationCollector()
const port = parentPort!

port.on('message', (job: ChunkJob) => {
  try {
    const plaintext = new Uint8Array(slabs[job.slab]!, job.offset, job.length)
    const chunk = encryptChunk(secret, plaintext, { keepCiphertext: job.keepCiphertext })
    collectYoung()
    const result: ChunkJobResult = chunkJobResult(job.index, chunk)
    if (chunk.ciphertext) {
      result.ciphertext = chunk.ciphertext
      port.postMessage({ ok: result }, [chunk.ciphertext.buffer as ArrayBuffer])
    } else {
      port.postMessage({ ok: result })
    }
  } catch (err) {
    port.postMessage({ error: { index: job.index, message: (err as Error).message } })
  }
})
