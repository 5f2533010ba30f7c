/**
 * Worker thread: hashes and encrypts chunks straight out of the shared slabs the main
 * thread reads the file into, and hands the ciphertext back without copying it.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { encryptChunk } from '../crypto/chunk-cipher.ts'
import type { ChunkJob, ChunkResult } from './jobs.ts'

interface WorkerInit {
  slabs: SharedArrayBuffer[]
  secret: Uint8Array
}

const { slabs, secret } = workerData as WorkerInit
const port = parentPort!

port.on('message', (job: ChunkJob) => {
  try {
    const plaintext = new Uint8Array(slabs[job.slab]!, job.offset, job.length)
    const chunk = encryptChunk(secret, plaintext, { keepCiphertext: job.keepCiphertext })
    const result: ChunkResult = {
      index: job.index,
      id: chunk.id,
      plainHash: chunk.plainHash.toString('hex'),
      seal: chunk.seal,
    }
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
