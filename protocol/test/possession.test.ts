import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  challengeFor,
  POSSESSION_MAX_RANGE,
  possessionResponse,
  verifyPossession,
} from '../crypto/possession.ts'

const chunk = new Uint8Array(randomBytes(100_000))

describe('proof of possession', () => {
  it('answers HMAC-SHA256 keyed with the nonce bytes over the challenged range', () => {
    const nonce = 'ab'.repeat(32)
    const expected = createHmac('sha256', Buffer.from(nonce, 'hex'))
      .update(chunk.subarray(10, 110))
      .digest('hex')
    expect(possessionResponse(nonce, chunk, 10, 100)).toBe(expected)
  })

  it('verifies against the range bytes alone, and refuses another range, nonce or chunk', () => {
    const c = challengeFor(chunk.length)
    const range = chunk.subarray(c.offset, c.offset + c.length)
    const response = possessionResponse(c.nonce, chunk, c.offset, c.length)
    expect(verifyPossession(c.nonce, range, response)).toBe(true)
    const shifted = chunk.subarray(c.offset + 1, c.offset + 1 + c.length)
    expect(verifyPossession(c.nonce, shifted, response)).toBe(false)
    expect(verifyPossession(challengeFor(chunk.length).nonce, range, response)).toBe(false)
    const other = new Uint8Array(range)
    other[0]! ^= 1
    expect(verifyPossession(c.nonce, other, response)).toBe(false)
    expect(verifyPossession(c.nonce, range, 'zz')).toBe(false)
  })

  it('picks fresh nonces and ranges that fit the chunk', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const c = challengeFor(chunk.length)
      seen.add(c.nonce)
      expect(c.nonce).toMatch(/^[0-9a-f]{64}$/)
      expect(c.offset).toBeGreaterThanOrEqual(0)
      expect(c.length).toBeGreaterThanOrEqual(64)
      expect(c.length).toBeLessThanOrEqual(POSSESSION_MAX_RANGE)
      expect(c.offset + c.length).toBeLessThanOrEqual(chunk.length)
    }
    expect(seen.size).toBe(200)
    // A chunk shorter than the minimum range is challenged whole.
    expect(challengeFor(20)).toMatchObject({ offset: 0, length: 20 })
  })

  it('refuses ranges outside the chunk and malformed nonces', () => {
    expect(() => possessionResponse('ab'.repeat(16), chunk, chunk.length - 5, 10)).toThrow(
      RangeError,
    )
    expect(() => possessionResponse('xyz', chunk, 0, 10)).toThrow(RangeError)
    expect(() => challengeFor(0)).toThrow(RangeError)
  })
})
