import { protocolError } from './errors.ts'

/**
 * Unsigned LEB128 varints, as libp2p's length-prefixed streams use. Bounded: at most
 * MAX_VARINT_BYTES bytes (35 bits), and only the shortest encoding is accepted, so every
 * length has exactly one spelling.
 */
export const MAX_VARINT_BYTES = 5

export function encodeVarint(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** (7 * MAX_VARINT_BYTES)) {
    throw new RangeError(`varint out of range: ${value}`)
  }
  const out: number[] = []
  let v = value
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
  return Uint8Array.from(out)
}

/**
 * Reads a varint at `offset`. Returns undefined when the bytes end inside it (feed more),
 * otherwise the value and how many bytes it took.
 */
export function decodeVarint(
  bytes: Uint8Array,
  offset = 0,
): { value: number; length: number } | undefined {
  let value = 0
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const b = bytes[offset + i]
    if (b === undefined) return undefined
    value += (b & 0x7f) * 2 ** (7 * i)
    if (b < 0x80) {
      if (b === 0 && i > 0) throw protocolError('length prefix is not minimally encoded')
      return { value, length: i + 1 }
    }
  }
  throw protocolError(`length prefix longer than ${MAX_VARINT_BYTES} bytes`)
}
