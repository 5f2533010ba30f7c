import { type ChunkingOptions, chunkingParams } from '../chunking/options.ts'

const MASK64 = (1n << 64n) - 1n

/**
 * A deliberately plain FastCDC (BigInt arithmetic, the whole input at once), written from
 * the paper's pseudo-code independently of the WebAssembly loop, to cross-check it.
 * Returns chunk lengths.
 */
export function referenceChunkLengths(
  data: Uint8Array,
  gear: BigUint64Array,
  options: Partial<ChunkingOptions>,
): number[] {
  const { minSize, normalSize, maxSize, maskS, maskL } = chunkingParams(options)
  const lengths: number[] = []
  let start = 0
  while (start < data.length) {
    const n = Math.min(data.length - start, maxSize)
    lengths.push(cutPoint(data, start, n))
    start += lengths.at(-1)!
  }
  return lengths

  function cutPoint(src: Uint8Array, at: number, n: number): number {
    if (n <= minSize) return n
    const normal = Math.min(normalSize, n)
    let fp = 0n
    let i = minSize
    for (; i < normal; i++) {
      fp = ((fp << 1n) + gear[src[at + i]!]!) & MASK64
      if ((fp & maskS) === 0n) return i + 1
    }
    for (; i < n; i++) {
      fp = ((fp << 1n) + gear[src[at + i]!]!) & MASK64
      if ((fp & maskL) === 0n) return i + 1
    }
    return n
  }
}
