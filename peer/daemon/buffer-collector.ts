import { fullCollector, youngGenerationCollector } from '../../protocol/runtime/collect-young.ts'

/**
 * How a daemon's chunk buffers get collected. They live outside the JavaScript heap, and
 * left to itself V8 gets it wrong both ways for a process moving gigabytes:
 *
 * - It collects them late: a 1 GiB transfer's RSS swung by ~80 MB between collections.
 *   So a young-generation collection runs whenever array buffers have grown by
 *   `stepBytes` since the last one (peak RSS 265-269 MB with it at 48 MB, 327-332 without).
 * - It also starts a full mark of the heap every time some 64 MB of them have been
 *   allocated, live or not: about 120 per GiB received, a third of the daemons' CPU time.
 *   With `--external-memory-accounted-in-global-limit` (bin/malloc-tuning.ts gives the
 *   daemon that flag), array buffers count toward V8's global heap limit instead, which a
 *   daemon's small heap almost never reaches. The chunk paths free their big
 *   buffers themselves (releaseBytes), and a full collection runs here whenever array
 *   buffers exceed `ceilingBytes` anyway: the backstop for any that are not released.
 *
 * Measured on bench:sync (1 GiB A -> B, runs of 5 edits), chunk buffers released: 56 MB/s
 * at 254 / 264 MB peak RSS (A / B) with V8's trigger; without it, 66-67 MB/s at 266-284 /
 * 270-300 MB with a 96 MB ceiling, 68-69 MB/s at 279-289 / 291-307 MB with 128 MB.
 */
export function startBufferCollector({
  stepBytes = 32 * 1024 * 1024,
  ceilingBytes = 96 * 1024 * 1024,
  everyMs = 50,
} = {}): () => void {
  const collectYoung = youngGenerationCollector()
  const collectAll = fullCollector()
  let after = process.memoryUsage().arrayBuffers
  const timer = setInterval(() => {
    const now = process.memoryUsage().arrayBuffers
    if (now > ceilingBytes) collectAll()
    else if (now - after >= stepBytes) collectYoung()
    else {
      after = Math.min(after, now)
      return
    }
    after = process.memoryUsage().arrayBuffers
  }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
