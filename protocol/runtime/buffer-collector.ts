import { fullCollector, youngGenerationCollector } from './collect-young.ts'

/**
 * How the chunk buffers of a process that moves them (a device's daemon, a coordinator
 * storing blobs itself) get collected. They live outside the JavaScript heap, and left to
 * itself V8 gets it wrong both ways for a process moving gigabytes:
 *
 * - It collects them late: a 1 GiB transfer's RSS swung by ~80 MB between collections.
 *   So a young-generation collection runs whenever array buffers have grown by
 *   `stepBytes` since the last one (peak RSS 265-269 MB with it at 48 MB, 327-332 without).
 * - It also starts a full mark of the heap every time some 64 MB of them have been
 *   allocated, live or not: about 120 per GiB received, a third of the daemons' CPU time.
 *   With `--external-memory-accounted-in-global-limit` (bin/malloc-tuning.ts gives the
 *   `sync` and `coordinator` commands that flag), array buffers count toward V8's global
 *   heap limit instead, which a small heap rarely reaches. The chunk paths free their big
 *   buffers themselves (releaseBytes), and a full collection runs here whenever array
 *   buffers grow `ceilingBytes` past what the last one left: the backstop for the rest.
 *
 * Measured on bench:sync (1 GiB A -> B), chunk buffers released: 56 MB/s at 254 / 264 MB
 * peak RSS (A / B) with V8's trigger (5 edits); without it in the daemons, 66-67 MB/s at
 * 266-284 / 270-300 MB (an absolute 96 MB ceiling; 128 MB: 68-69 MB/s, B up to 307 MB);
 * without it in the coordinator too (its CPU 6.9 -> 4.4-5.6 s), 50 edits: 64 MB past the
 * last full collection gave 71 MB/s but A peaked at 303 MB; 48 MB, 61-65 MB/s at 276-285
 * / 244-277 MB.
 */
export function startBufferCollector({
  stepBytes = 32 * 1024 * 1024,
  ceilingBytes = 48 * 1024 * 1024,
  everyMs = 50,
} = {}): () => void {
  const collectYoung = youngGenerationCollector()
  const collectAll = fullCollector()
  const arrayBuffers = () => process.memoryUsage().arrayBuffers
  // Measured from what a full collection leaves (a process's own buffers, PGlite's say),
  // so the ceiling is about garbage, not about what the process needs.
  let floor = arrayBuffers()
  let after = floor
  const timer = setInterval(() => {
    const now = arrayBuffers()
    if (now - floor > ceilingBytes) {
      collectAll()
      floor = arrayBuffers()
    } else if (now - after >= stepBytes) collectYoung()
    else {
      after = Math.min(after, now)
      return
    }
    after = arrayBuffers()
  }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
