import { describe, expect, it } from 'vitest'
import { releaseBytes } from '../release-bytes.ts'

describe('releaseBytes', () => {
  it('frees a chunk-sized buffer the view owns whole', () => {
    const bytes = new Uint8Array(1024 * 1024).fill(7)
    releaseBytes(bytes)
    expect(bytes.buffer.detached).toBe(true)
    expect(bytes.length).toBe(0)
  })

  it('leaves alone a view into a larger buffer, a small buffer and a shared one', () => {
    const whole = new Uint8Array(2 * 1024 * 1024).fill(1)
    const view = whole.subarray(0, 1024 * 1024)
    const small = new Uint8Array(64 * 1024)
    const shared = new Uint8Array(new SharedArrayBuffer(1024 * 1024))
    for (const b of [view, small, shared]) releaseBytes(b)
    expect(whole.buffer.detached).toBe(false)
    expect(view.length).toBe(1024 * 1024)
    expect(view[0]).toBe(1)
    expect(small.length).toBe(64 * 1024)
    expect(shared.length).toBe(1024 * 1024)
  })

  it('is harmless twice, and on a buffer from Node', () => {
    const bytes = Buffer.alloc(512 * 1024, 3)
    releaseBytes(bytes)
    releaseBytes(bytes)
    expect(bytes.length).toBe(0)
  })
})
