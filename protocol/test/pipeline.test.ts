import { createHash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { MiB } from '../constants.ts'
import { verifyChunkId } from '../crypto/chunk-cipher.ts'
import { createDomainSecret } from '../crypto/keys.ts'
import { isCloudsyncError } from '../errors.ts'
import { validateManifest } from '../manifest.ts'
import { bufferSink, FileAssembler } from '../pipeline/assemble.ts'
import { sourceFromBytes, sourceFromIterable } from '../pipeline/byte-source.ts'
import { ChunkPipeline, type EncodedChunk } from '../pipeline/encode.ts'
import { reads, seededBytes } from './helpers.ts'

const secret = createDomainSecret()
const pooled = new ChunkPipeline({ secret, workers: 2 })
const inline = new ChunkPipeline({ secret, workers: 0 })
afterAll(() => Promise.all([pooled.close(), inline.close()]))

async function encodeKeeping(pipeline: ChunkPipeline, data: Uint8Array, readSize = 3 * MiB) {
  const chunks: EncodedChunk[] = []
  const result = await pipeline.encode(sourceFromIterable(reads(data, readSize)), {
    keepCiphertext: true,
    plainSha256: true,
    onChunk: (c) => {
      chunks.push(c)
    },
  })
  return { ...result, chunks }
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    const j = seed % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

describe('file pipeline: encode on worker threads, assemble in any order', () => {
  it.each([
    ['empty', 0],
    ['1 byte', 1],
    ['exactly min (1 MiB)', MiB],
    ['exactly avg (4 MiB)', 4 * MiB],
    ['exactly max (16 MiB)', 16 * MiB],
    ['max + 1', 16 * MiB + 1],
    ['multi-chunk (70 MiB, crosses slabs)', 70 * MiB + 12_345],
  ])('round-trips a %s file', async (name, size) => {
    const data = seededBytes(size, name)
    const { manifest, chunks, sha256 } = await encodeKeeping(pooled, data)
    expect(validateManifest(manifest)).toEqual(manifest)
    expect(sha256).toBe(createHash('sha256').update(data).digest('hex'))
    expect(chunks.map((c) => c.index)).toEqual(manifest.chunks.map((_, i) => i))
    for (const c of chunks) verifyChunkId(c.id, c.ciphertext!)
    if (size > 16 * MiB) expect(manifest.chunks.length).toBeGreaterThan(1)

    const sink = bufferSink(manifest.size)
    const assembler = new FileAssembler(manifest, secret, sink)
    for (const c of shuffled(chunks, size))
      expect(await assembler.accept(c.index, c.ciphertext!)).toBe(true)
    expect(assembler.done).toBe(true)
    expect(Buffer.from(sink.bytes).equals(Buffer.from(data))).toBe(true)
  })

  it('gives the same manifest on worker threads and inline, whatever the read size', async () => {
    const data = seededBytes(40 * MiB, 'same manifest')
    const a = await pooled.encode(sourceFromBytes(data))
    const b = await inline.encode(sourceFromIterable(reads(data, 65_537)))
    expect(b.manifest).toEqual(a.manifest)
    // Each chunk's plaintext check is its CRC-32, whichever thread took it slice by slice.
    const crcs = a.manifest.chunks.map((c) => crc32(data.subarray(c.offset, c.offset + c.size)))
    expect(a.plainChecks).toEqual(crcs)
    expect(b.plainChecks).toEqual(crcs)
  })

  it('keeps the ciphertexts a function asks for, chunk by chunk, in index order', async () => {
    const data = seededBytes(24 * MiB, 'keep some')
    for (const pipeline of [pooled, inline]) {
      const asked: { index: number; size: number }[] = []
      const kept = new Map<number, Uint8Array>()
      const { manifest } = await pipeline.encode(sourceFromBytes(data), {
        keepCiphertext: ({ index, size }) => {
          asked.push({ index, size })
          return index < 2
        },
        onChunk: (c) => {
          if (c.ciphertext) kept.set(c.index, c.ciphertext)
        },
      })
      expect(manifest.chunks.length).toBeGreaterThan(2)
      expect(asked).toEqual(manifest.chunks.map(({ index, size }) => ({ index, size })))
      expect([...kept.keys()]).toEqual([0, 1])
      for (const [index, ciphertext] of kept) verifyChunkId(manifest.chunks[index]!.id, ciphertext)
    }
  })

  it('changes the content hash when one byte changes', async () => {
    const data = seededBytes(2 * MiB, 'one byte')
    const before = await inline.encode(sourceFromBytes(data))
    data[MiB + 5]! ^= 1
    const after = await inline.encode(sourceFromBytes(data))
    expect(after.manifest.hash).not.toBe(before.manifest.hash)
  })

  it('ignores a duplicate chunk and writes nothing for a corrupt one', async () => {
    const data = seededBytes(9 * MiB, 'dup')
    const { manifest, chunks } = await encodeKeeping(pooled, data)
    const writes: number[] = []
    const sink = bufferSink(manifest.size)
    const assembler = new FileAssembler(manifest, secret, {
      write: (bytes, at) => {
        writes.push(at)
        return sink.write(bytes, at)
      },
    })
    const bad = Buffer.from(chunks[0]!.ciphertext!)
    bad[10]! ^= 1
    await expect(assembler.accept(0, bad)).rejects.toSatisfy((e) =>
      isCloudsyncError(e, 'CHUNK_CORRUPT'),
    )
    expect(writes).toEqual([])
    expect(assembler.missing()).toContain(0)
    expect(await assembler.accept(0, chunks[0]!.ciphertext!)).toBe(true)
    expect(await assembler.accept(0, chunks[0]!.ciphertext!)).toBe(false)
    expect(writes).toEqual([0])
  })

  it('refuses a manifest from another domain or with an altered chunk list', async () => {
    const { manifest } = await inline.encode(sourceFromBytes(seededBytes(3 * MiB, 'foreign')))
    const sink = bufferSink(manifest.size)
    expect(() => new FileAssembler(manifest, createDomainSecret(), sink)).toThrow(/Manifest hash/)
    const swapped = {
      ...manifest,
      chunks: manifest.chunks.map((c) => ({ ...c, seal: 'f'.repeat(64) })),
    }
    expect(() => new FileAssembler(swapped, secret, sink)).toThrow(/Manifest hash/)
  })

  it('stops with the consumer\u2019s error and stays usable afterwards', async () => {
    const data = seededBytes(30 * MiB, 'fail')
    await expect(
      pooled.encode(sourceFromBytes(data), {
        onChunk: (c) => {
          if (c.index === 1) throw new Error('upload failed')
        },
      }),
    ).rejects.toThrow('upload failed')
    const again = await pooled.encode(sourceFromBytes(data))
    expect(again.manifest.size).toBe(data.length)
  })

  it('bounds memory: a slow consumer holds the reader back', async () => {
    // Zeros have no natural cut points, so every chunk is max-size (16 MiB).
    const total = 400 * MiB
    let read = 0
    const source = {
      async readInto(into: Uint8Array) {
        const n = Math.min(into.length, total - read)
        into.fill(0, 0, n)
        read += n
        return n
      },
    }
    let maxLead = 0
    await pooled.encode(source, {
      keepCiphertext: true,
      onChunk: async (c) => {
        maxLead = Math.max(maxLead, read - (c.offset + c.size))
        await new Promise((r) => setTimeout(r, 10))
      },
    })
    // At most 6 chunks in flight plus the slab being filled; without backpressure the
    // reader would be ~all 400 MiB ahead.
    expect(maxLead).toBeGreaterThan(0)
    expect(maxLead).toBeLessThanOrEqual(6 * 16 * MiB + 32 * MiB)
  })
})
