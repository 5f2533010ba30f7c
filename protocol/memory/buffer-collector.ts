import { fullCollector, youngGenerationCollector } from './collect-young.ts'

/**
 * How the chunk buffers of a process that moves them (a device's daemon, a coordinator
 * storing blobs itself) get collected. They live outside the JavaScript heap, and left to
 * itself V8 gets it wrong both ways for a process moving gigabytes:
 *
 * - It collects them late, so a process's RSS swings widely between collections. So a
 *   young-generation collection runs whenever array buffers have grown by `stepBytes`
 *   since the last one.
 * - It also starts a full mark of the heap every time some 64 MB of them have been
 *   allocated, live or not, which costs a daemon a large share of its CPU. With
 *   `--external-memory-accounted-in-global-limit` (process-tuning.ts gives the `sync` and
 *   `coordinator` commands that flag), array buffers count toward V8's global heap limit
 *   instead, which a small heap rarely reaches. The chunk paths free their big buffers
 *   themselves (releaseBytes), and a full collection runs here whenever array buffers
 *   stand `ceilingBytes` above the fewest there were since the last one: the backstop for
 *   the rest (CollectionSchedule). A higher ceiling trades memory for speed; 32 MB keeps a
 *   daemon's peak under its memory bar (docs/BENCHMARKS.md).
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
 * the next one, and raised the sender's peak.
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
