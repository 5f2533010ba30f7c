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
 *   With `--external-memory-accounted-in-global-limit` (protocol/memory/process-tuning.ts gives the
 *   `sync` and `coordinator` commands that flag), array buffers count toward V8's global
 *   heap limit instead, which a small heap rarely reaches. The chunk paths free their big
 *   buffers themselves (releaseBytes), and a full collection runs here whenever array
 *   buffers stand `ceilingBytes` above the fewest there were since the last one: the
 *   backstop for the rest (CollectionSchedule).
 *
 * Measured on bench:sync (1 GiB A -> B), chunk buffers released: 56 MB/s at 254 / 264 MB
 * peak RSS (A / B) with V8's trigger (5 edits); without it in the daemons, 66-67 MB/s at
 * 266-284 / 270-300 MB (an absolute 96 MB ceiling; 128 MB: 68-69 MB/s, B up to 307 MB);
 * without it in the coordinator too (its CPU 6.9 -> 4.4-5.6 s), 50 edits: 64 MB past the
 * last full collection gave 71 MB/s but A peaked at 303 MB; 48 MB, 61-65 MB/s at 276-285
 * / 244-277 MB. Eighth session, with the daemons' heap flags and the floor following the
 * bytes down: 32 MB, 145-152 MB/s at 271-286 / 228-239 MB; 24 MB, 128-142 MB/s.
 */
export function startBufferCollector({
  stepBytes = 32 * 1024 * 1024,
  ceilingBytes = 32 * 1024 * 1024,
  everyMs = 50,
} = {}): () => void {
  const collect = {
    young: youngGenerationCollector(),
    full: fullCollector(),
  }
  const arrayBuffers = () => process.memoryUsage().arrayBuffers
  const schedule = new CollectionSchedule(arrayBuffers(), { stepBytes, ceilingBytes })
  const timer = setInterval(() => {
    const kind = schedule.due(arrayBuffers())
    if (kind === undefined) return
    collect[kind]()
    schedule.collected(kind, arrayBuffers())
  }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * When to collect, from the array buffer bytes a process holds, sampled: a full
 * collection once they stand `ceilingBytes` above the lowest they have been since the last
 * one (the floor), a young one once they grew `stepBytes` since the last collection.
 *
 * The floor follows the bytes down. Buffers freed between full collections (released by
 * their owner, or collected by V8 itself) leave less live, and what comes after them is
 * garbage just the same: a floor kept at what the last full collection left (the encoder's
 * 72 MiB of slabs, say, dead a moment later) let that much more garbage pile up before
 * the next one. Floor following, daemons with --heap-growing-percent=100 (protocol/memory/process-tuning.ts)
 * peaked at 271-286 MB on bench:sync's sender with a 32 MB ceiling; without it, 288-306
 * (and 305-321 with the 48 MB ceiling before).
 */
export class CollectionSchedule {
  readonly #stepBytes: number
  readonly #ceilingBytes: number
  /** The fewest bytes seen since the last full collection. */
  #floor: number
  /** The fewest bytes seen since the last collection of either kind. */
  #after: number

  constructor(
    bytes: number,
    { stepBytes, ceilingBytes }: { stepBytes: number; ceilingBytes: number },
  ) {
    this.#stepBytes = stepBytes
    this.#ceilingBytes = ceilingBytes
    this.#floor = bytes
    this.#after = bytes
  }

  /** The collection due at `bytes`, if any. */
  due(bytes: number): 'full' | 'young' | undefined {
    this.#floor = Math.min(this.#floor, bytes)
    this.#after = Math.min(this.#after, bytes)
    if (bytes - this.#floor > this.#ceilingBytes) return 'full'
    if (bytes - this.#after >= this.#stepBytes) return 'young'
    return undefined
  }

  /** A collection of `kind` ran and left `bytes`. */
  collected(kind: 'full' | 'young', bytes: number): void {
    if (kind === 'full') this.#floor = bytes
    this.#after = bytes
  }
}
