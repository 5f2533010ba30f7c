import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { CloudsyncError } from '../../../protocol/errors.ts'
import { asChunkError, type ChunkResult, getEach } from '../chunk-source.ts'

describe('getEach (getMany for one-at-a-time sources)', () => {
  it('yields one result per distinct id, errors as results, at most `concurrency` at once', async () => {
    let running = 0
    let most = 0
    const get = async (id: string) => {
      most = Math.max(most, ++running)
      await sleep(id === 'slow' ? 30 : 5)
      running--
      if (id === 'missing') throw new CloudsyncError('NOT_FOUND', 'nope')
      if (id === 'broken') throw new Error('socket hang up')
      return new TextEncoder().encode(id)
    }
    const results: ChunkResult[] = []
    const ids = ['slow', 'a', 'missing', 'b', 'broken', 'a']
    for await (const r of getEach(get, ids, { concurrency: 2 })) results.push(r)
    expect(results.map((r) => r.id).sort()).toEqual(['a', 'b', 'broken', 'missing', 'slow'])
    expect(results.at(-1)?.id).toBe('slow')
    expect(most).toBe(2)
    const code = (id: string) => results.find((r) => r.id === id)?.error?.code
    expect(code('missing')).toBe('NOT_FOUND')
    expect(code('broken')).toBe('BUSY')
  })

  it('asChunkError keeps a CloudsyncError and wraps anything else', () => {
    const corrupt = new CloudsyncError('CHUNK_CORRUPT')
    expect(asChunkError('x', corrupt)).toBe(corrupt)
    expect(asChunkError('x', new Error('boom')).message).toContain('boom')
  })
})
