import { CHUNK_SIZE_CEILING, CHUNK_SIZE_FLOOR, DEFAULT_CHUNKING } from '../constants.ts'
import { CloudsyncError } from '../errors.ts'

/** Chunk size bounds: a cut never falls before `minSize` and always by `maxSize`. */
export interface ChunkingOptions {
  minSize: number
  avgSize: number
  maxSize: number
}

/** The masks FastCDC tests the gear hash against, and the size where they switch. */
export interface ChunkingParams extends ChunkingOptions {
  normalSize: number
  maskS: bigint
  maskL: bigint
}

/**
 * Normalized chunking, level 2 (FastCDC, Xia et al. 2016/2020): two more mask bits before
 * the average size and two fewer after it pull chunk sizes toward the average. The masks
 * use the hash's top bits, which depend on the last 64 bytes; the low bits of a gear hash
 * depend on only the last few bytes and would make cuts far too content-local.
 */
const NORMALIZATION_LEVEL = 2

export function chunkingParams(options: Partial<ChunkingOptions> = {}): ChunkingParams {
  const { minSize, avgSize, maxSize } = { ...DEFAULT_CHUNKING, ...options }
  const sizes = { minSize, avgSize, maxSize }
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isInteger(value) || value < CHUNK_SIZE_FLOOR || value > CHUNK_SIZE_CEILING) {
      throw new CloudsyncError(
        'INVALID_INPUT',
        `Chunking ${name} must be an integer from ${CHUNK_SIZE_FLOOR} to ${CHUNK_SIZE_CEILING}, got ${value}`,
      )
    }
  }
  if (!(minSize <= avgSize && avgSize <= maxSize)) {
    throw new CloudsyncError(
      'INVALID_INPUT',
      `Chunking sizes must satisfy min <= avg <= max, got ${minSize} / ${avgSize} / ${maxSize}`,
    )
  }
  const bits = Math.round(Math.log2(avgSize))
  return {
    ...sizes,
    normalSize: avgSize,
    maskS: topBits(bits + NORMALIZATION_LEVEL),
    maskL: topBits(Math.max(1, bits - NORMALIZATION_LEVEL)),
  }
}

function topBits(n: number): bigint {
  return ((1n << BigInt(n)) - 1n) << BigInt(64 - n)
}
