/**
 * A fixed set of shared buffers the file is read into. Worker threads read chunk
 * plaintext straight out of them, so a slab is reused only when the reader has moved on
 * and every chunk cut from it has been encrypted. The fixed count is the memory bound.
 */
export class SlabPool {
  readonly buffers: SharedArrayBuffer[]
  readonly #holds: number[]
  #waiters: (() => void)[] = []

  constructor(count: number, size: number) {
    this.buffers = Array.from({ length: count }, () => new SharedArrayBuffer(size))
    this.#holds = this.buffers.map(() => 0)
  }

  get size(): number {
    return this.buffers[0]!.byteLength
  }

  /** A slab nobody holds, held once by the caller; waits for one to come free. */
  async acquire(): Promise<number> {
    for (;;) {
      const free = this.#holds.indexOf(0)
      if (free >= 0) {
        this.#holds[free] = 1
        return free
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  retain(slab: number): void {
    this.#holds[slab]!++
  }

  release(slab: number): void {
    if (--this.#holds[slab]! === 0) {
      const waiters = this.#waiters
      this.#waiters = []
      for (const wake of waiters) wake()
    }
  }

  view(slab: number, offset: number, length: number): Uint8Array {
    return new Uint8Array(this.buffers[slab]!, offset, length)
  }
}
