import { describe, expect, it } from 'vitest'
import { Chunker } from '../chunking/chunker.ts'
import { deriveGearTable } from '../chunking/gear.ts'
import type { ChunkingOptions } from '../chunking/options.ts'
import { chunkStream } from '../chunking/stream.ts'
import { MiB } from '../constants.ts'
import { isCloudsyncError } from '../errors.ts'
import { referenceChunkLengths } from './fastcdc-reference.ts'
import { reads, SMALL_CHUNKING, seededBytes } from './helpers.ts'

const gear = deriveGearTable(Buffer.from('domain secret one'))

async function chunkLengths(
  source: Iterable<Uint8Array>,
  options: Partial<ChunkingOptions> = SMALL_CHUNKING,
  table = gear,
) {
  const lengths: number[] = []
  for await (const chunk of chunkStream(source, new Chunker(table, options)))
    lengths.push(chunk.length)
  return lengths
}

describe('FastCDC chunker (WebAssembly)', () => {
  it.each([
    ['small', SMALL_CHUNKING],
    ['min = avg', { minSize: 512, avgSize: 512, maxSize: 2048 }],
    ['avg = max', { minSize: 128, avgSize: 1024, maxSize: 1024 }],
  ])(
    'finds the same cut points as an independent reference implementation (%s)',
    async (_, options) => {
      const data = seededBytes(400_000, `ref ${_}`)
      const expected = referenceChunkLengths(data, gear, options)
      expect(expected.length).toBeGreaterThan(50)
      expect(await chunkLengths([data], options)).toEqual(expected)
    },
  )

  it('cuts at the same places whatever the read sizes, from 1 byte to the whole input', async () => {
    const data = seededBytes(120_000, 'splits')
    const whole = await chunkLengths([data])
    for (const size of [1, 2, 7, 255, 256, 1023, 4096, 4097, 65_536]) {
      expect(await chunkLengths(reads(data, size)), `read size ${size}`).toEqual(whole)
    }
  })

  it('cuts the same at default sizes with reads crossing its 1 MiB scan window', async () => {
    const data = seededBytes(40 * MiB, 'default sizes')
    const whole = await chunkLengths([data], {})
    expect(whole.length).toBeGreaterThanOrEqual(3)
    for (const size of [MiB - 1, 4 * MiB + 3, 16 * MiB]) {
      expect(await chunkLengths(reads(data, size), {})).toEqual(whole)
    }
  })

  it('keeps every chunk within min and max, all but the last at least min', async () => {
    const lengths = await chunkLengths([seededBytes(300_000, 'bounds')])
    expect(lengths.slice(0, -1).every((n) => n >= 256 && n <= 4096)).toBe(true)
    expect(lengths.at(-1)).toBeLessThanOrEqual(4096)
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length
    expect(mean).toBeGreaterThan(700)
    expect(mean).toBeLessThan(1600)
  })

  it('forces a cut at max size on input with no natural cut points', async () => {
    const lengths = await chunkLengths([new Uint8Array(10_000)])
    expect(lengths).toEqual([4096, 4096, 1808])
  })

  it('yields the input back exactly when the chunks are joined', async () => {
    const data = seededBytes(50_000, 'join')
    const parts: Uint8Array[] = []
    for await (const c of chunkStream(reads(data, 333), new Chunker(gear, SMALL_CHUNKING)))
      parts.push(c.slice())
    expect(Buffer.concat(parts).equals(Buffer.from(data))).toBe(true)
  })

  it('derives different cut points from different domain secrets', async () => {
    const data = seededBytes(200_000, 'domains')
    const other = deriveGearTable(Buffer.from('domain secret two'))
    const a = await chunkLengths([data])
    const b = await chunkLengths([data], SMALL_CHUNKING, other)
    expect(a).not.toEqual(b)
  })

  it('changes at most the chunks around an edit (shift resistance)', async () => {
    const data = seededBytes(500_000, 'shift')
    const edited = Buffer.concat([
      data.subarray(0, 250_000),
      Buffer.from([42]),
      data.subarray(250_000),
    ])
    const chunksOf = async (bytes: Uint8Array) => {
      const set = new Set<string>()
      for await (const c of chunkStream([bytes], new Chunker(gear, SMALL_CHUNKING)))
        set.add(Buffer.from(c).toString('base64'))
      return set
    }
    const before = await chunksOf(data)
    const after = await chunksOf(edited)
    const changed = [...after].filter((c) => !before.has(c)).length
    expect(changed).toBeGreaterThanOrEqual(1)
    expect(changed).toBeLessThanOrEqual(3)
  })

  it('rejects impossible size settings with a clear error', () => {
    for (const bad of [
      { minSize: 2048, avgSize: 1024, maxSize: 4096 },
      { minSize: 256, avgSize: 8192, maxSize: 4096 },
      { minSize: 0, avgSize: 1024, maxSize: 4096 },
      { minSize: 256.5, avgSize: 1024, maxSize: 4096 },
      { maxSize: 1024 * MiB },
    ]) {
      let error: unknown
      try {
        new Chunker(gear, bad)
      } catch (err) {
        error = err
      }
      expect(isCloudsyncError(error, 'INVALID_INPUT'), JSON.stringify(bad)).toBe(true)
    }
  })
})
