import { describe, expect, it } from 'vitest'
import { type ErrorCode, isCloudsyncError } from '../errors.ts'
import { decodeManifest, encodeManifest, type Manifest, validateManifest } from '../manifest.ts'

const h = (c: string) => c.repeat(64)
const valid: Manifest = {
  size: 300,
  hash: h('a'),
  chunks: [
    { index: 0, id: h('1'), offset: 0, size: 100, cipherSize: 116, seal: h('b') },
    { index: 1, id: h('2'), offset: 100, size: 200, cipherSize: 216, seal: h('c') },
  ],
}

function codeOf(fn: () => unknown): { code?: ErrorCode; message?: string } {
  try {
    fn()
  } catch (err) {
    if (isCloudsyncError(err)) return { code: err.code, message: err.message }
    throw err
  }
  return {}
}

const withChunk = (i: number, patch: object): Manifest => ({
  ...valid,
  chunks: valid.chunks.map((c, j) => (j === i ? { ...c, ...patch } : c)),
})

describe('manifest', () => {
  it('accepts a consistent manifest and an empty file', () => {
    expect(validateManifest(valid)).toEqual(valid)
    expect(validateManifest({ size: 0, hash: h('a'), chunks: [] }).chunks).toEqual([])
  })

  it('encodes canonically: key order of the input does not matter, round trip is exact', () => {
    const shuffled = JSON.parse(
      JSON.stringify({
        chunks: valid.chunks.map(({ seal, ...rest }) => ({ seal, ...rest })),
        hash: valid.hash,
        size: valid.size,
      }),
    )
    expect(encodeManifest(shuffled)).toBe(encodeManifest(valid))
    expect(decodeManifest(encodeManifest(valid))).toEqual(valid)
    expect(encodeManifest(valid)).not.toContain(' ')
  })

  it.each([
    ['a gap', withChunk(1, { offset: 101 }), 'INVALID_MANIFEST', 'gap'],
    ['an overlap', withChunk(1, { offset: 99 }), 'INVALID_MANIFEST', 'overlaps'],
    ['indexes out of order', withChunk(1, { index: 2 }), 'INVALID_MANIFEST', 'index'],
    ['sizes that do not add up', { ...valid, size: 301 }, 'INVALID_MANIFEST', 'add up'],
    ['a wrong cipher size', withChunk(0, { cipherSize: 100 }), 'INVALID_MANIFEST', 'cipherSize'],
    ['an empty chunk', withChunk(0, { size: 0 }), 'INVALID_INPUT', 'chunks[0].size'],
    ['a negative size', { ...valid, size: -1 }, 'INVALID_INPUT', 'size'],
    ['a bad chunk id', withChunk(0, { id: 'xyz' }), 'INVALID_INPUT', 'chunks[0].id'],
    ['an uppercase hash', { ...valid, hash: 'A'.repeat(64) }, 'INVALID_INPUT', 'hash'],
    ['an extra field', { ...valid, owner: 'me' }, 'INVALID_INPUT', 'owner'],
    ['a missing field', { size: 0, chunks: [] }, 'INVALID_INPUT', 'hash'],
    ['a fractional offset', withChunk(1, { offset: 100.5 }), 'INVALID_INPUT', 'chunks[1].offset'],
  ])('rejects %s, naming the problem', (_, manifest, code, words) => {
    const { code: got, message } = codeOf(() => validateManifest(manifest))
    expect(got).toBe(code)
    expect(message).toContain(words)
  })

  it('enforces the configured limits with TOO_LARGE', () => {
    const limits = { maxFileSize: 250, maxChunks: 10, maxChunkSize: 1000 }
    expect(codeOf(() => validateManifest(valid, limits)).code).toBe('TOO_LARGE')
    expect(
      codeOf(() => validateManifest(valid, { ...limits, maxFileSize: 1000, maxChunks: 1 })).code,
    ).toBe('TOO_LARGE')
    expect(
      codeOf(() => validateManifest(valid, { ...limits, maxFileSize: 1000, maxChunkSize: 150 }))
        .code,
    ).toBe('INVALID_MANIFEST')
  })

  it('rejects text that is not JSON', () => {
    expect(codeOf(() => decodeManifest('{"size": 1,')).code).toBe('INVALID_MANIFEST')
  })
})
