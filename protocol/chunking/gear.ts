import { hkdfSync } from 'node:crypto'

/**
 * The gear table: 256 pseudo-random 64-bit words, one per byte value. Deriving it from the
 * dedup domain's secret makes cut points (and so chunk sizes) differ between domains, so a
 * known file cannot be recognised across domains by its sequence of chunk sizes.
 */
export function deriveGearTable(domainSecret: Uint8Array): BigUint64Array {
  const bytes = hkdfSync('sha256', domainSecret, 'cloudsync/gear', 'fastcdc-gear-v1', 256 * 8)
  return new BigUint64Array(bytes)
}
