import { describe, expect, it } from 'vitest'
import { releaseBytes } from '../release-bytes.ts'

describe('releaseBytes', () => {
  it('frees a chunk-sized buffer the view owns whole', () => {
    const bytes = new Uint8Array(1024 * 1024).fill(7)
    releaseBytes(bytes)
    expect(bytes.buffer.detached).toBe(true)
    expect(bytes.length).toBe(0)
  })

  it('frees a cipher-slice-sized buffer too', () => {
    const slice = new Uint8Array(64 * 1024)
    releaseBytes(slice)
    expect(slice.buffer.detached).toBe(true)
  })

  it("leaves alone a view into a larger buffer, Node's pooled small buffers and a shared one", () => {
    const whole = new Uint8Array(2 * 1024 * 1024).fill(1)
    const view = whole.subarray(0, 1024 * 1024)
    const pooled = Buffer.from('a small buffer from the shared pool')
    const neighbour = Buffer.from('its neighbour in the pool')
    const shared = new Uint8Array(new SharedArrayBuffer(1024 * 1024))
    for (const b of [view, pooled, shared]) releaseBytes(b)
    expect(whole.buffer.detached).toBe(false)
    expect(view.length).toBe(1024 * 1024)
    expect(view[0]).toBe(1)
    expect(pooled.toString()).toBe('a small buffer from the shared pool')
    expect(neighbour.toString()).toBe('its neighbour in the pool')
    expect(shared.length).toBe(1024 * 1024)
  })

  it('is harmless twice, and on a buffer from Node', () => {
    const bytes = Buffer.alloc(512 * 1024, 3)
    releaseBytes(bytes)
    releaseBytes(bytes)
    expect(bytes.length).toBe(0)
  })
})
