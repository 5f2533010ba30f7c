import { type ChunkingOptions, type ChunkingParams, chunkingParams } from './options.ts'
import { FASTCDC_WASM_BASE64 } from './wasm/fastcdc.wasm.generated.ts'

interface FastcdcExports {
  memory: WebAssembly.Memory
  inputOffset(): number
  reset(): void
  advance(n: number): void
  chunkBytes(): number
  scan(
    start: number,
    end: number,
    min: number,
    normal: number,
    max: number,
    maskS: bigint,
    maskL: bigint,
  ): number
}

/** Bytes the WebAssembly module scans per call (its memory holds this plus the gear table). */
const WINDOW = 1 << 20

let compiled: WebAssembly.Module | undefined
function wasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(FASTCDC_WASM_BASE64, 'base64'))
  return compiled
}

/**
 * Finds FastCDC cut points in a stream of bytes fed in pieces of any size. It keeps no
 * bytes, only the rolling hash and the current chunk's length, so cut points are the same
 * however the input is split. Callers hold the chunk bytes themselves.
 */
export class Chunker {
  readonly params: ChunkingParams
  readonly #wasm: FastcdcExports
  readonly #input: Uint8Array

  constructor(gear: BigUint64Array, options: Partial<ChunkingOptions> = {}) {
    if (gear.length !== 256) throw new RangeError('gear table must have 256 entries')
    this.params = chunkingParams(options)
    this.#wasm = new WebAssembly.Instance(wasmModule()).exports as unknown as FastcdcExports
    new BigUint64Array(this.#wasm.memory.buffer, 0, 256).set(gear)
    this.#input = new Uint8Array(this.#wasm.memory.buffer, this.#wasm.inputOffset(), WINDOW)
  }

  /** Bytes of the chunk in progress (fed but not yet ended by a cut). */
  get pending(): number {
    return this.#wasm.chunkBytes()
  }

  /**
   * Feeds the next bytes of the stream. Returns the offsets within `bytes` just past each
   * cut point, in order; the bytes after the last one belong to the chunk in progress.
   */
  push(bytes: Uint8Array): number[] {
    const { minSize, normalSize, maxSize, maskS, maskL } = this.params
    const wasm = this.#wasm
    const cuts: number[] = []
    let offset = 0
    while (offset < bytes.length) {
      // Bytes before minSize cannot hold a cut and are never hashed: don't even copy them.
      const seen = wasm.chunkBytes()
      if (seen < minSize) {
        const skip = Math.min(minSize - seen, bytes.length - offset)
        wasm.advance(skip)
        offset += skip
        continue
      }
      const length = Math.min(WINDOW, bytes.length - offset)
      this.#input.set(bytes.subarray(offset, offset + length))
      let scanned = 0
      for (;;) {
        const cut = wasm.scan(scanned, length, minSize, normalSize, maxSize, maskS, maskL)
        if (cut < 0) {
          scanned = length
          break
        }
        cuts.push(offset + cut)
        scanned = cut
        // The next chunk's first minSize bytes hold no cut: skip them here, or leave the
        // rest of the window to the uncopied skip above.
        if (length - cut < minSize) break
        wasm.advance(minSize)
        scanned = cut + minSize
      }
      offset += scanned
    }
    return cuts
  }

  /** Forgets the chunk in progress (the stream ended or restarts). */
  reset(): void {
    this.#wasm.reset()
  }
}
