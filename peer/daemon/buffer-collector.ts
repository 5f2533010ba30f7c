import { youngGenerationCollector } from '../../protocol/runtime/collect-young.ts'

/**
 * Collects dead chunk buffers soon after they die. A daemon moving a large file drops a
 * few MB of buffers per chunk (plaintext read, ciphertext sent, bytes received); they
 * live outside the JavaScript heap, and V8 only collects once tens of MB of them have
 * piled up: a 1 GiB transfer's RSS swung by ~80 MB between collections. A young
 * generation collection whenever array buffers have grown by `stepBytes` since the last
 * one keeps the peak near what is really in use. Measured on bench:sync, runs
 * interleaved, with a 48 MB step: the uploader's peak RSS 265-269 MB with it, 327-332
 * without, for about a tenth of the transfer's speed (57-58 MB/s against 60-66). At
 * 32 MB, after 50 edits: 254-256 MB.
 */
export function startBufferCollector(stepBytes = 32 * 1024 * 1024, everyMs = 50): () => void {
  const collectYoung = youngGenerationCollector()
  let after = process.memoryUsage().arrayBuffers
  const timer = setInterval(() => {
    const now = process.memoryUsage().arrayBuffers
    if (now - after < stepBytes) {
      after = Math.min(after, now)
      return
    }
    collectYoung()
    after = process.memoryUsage().arrayBuffers
  }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
