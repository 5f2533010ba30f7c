import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LocalIndex } from '../local-index.ts'
import { encode, entry, randomContent } from './helpers.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const st = (size: number, ino = 1) => ({ size, mtimeMs: 1234.5678, ino })

describe('LocalIndex', () => {
  it('stores files and finds them by path, id and content hash', () => {
    const index = new LocalIndex(':memory:')
    const a = encode(randomContent(2500))
    index.putFile(entry('docs/a', a.manifest, st(2500)), a.plainHashes)
    index.putFile(entry('copy-of-a', a.manifest, st(2500, 2)), a.plainHashes)
    expect(index.getFile('docs/a')).toEqual(entry('docs/a', a.manifest, st(2500)))
    expect(index.getFile('nope')).toBeUndefined()
    expect(index.syncedStat('copy-of-a')).toEqual(st(2500, 2))
    expect(index.syncedStat('nope')).toBeUndefined()
    expect(index.listFiles().map((f) => f.path)).toEqual(['copy-of-a', 'docs/a'])
    expect(index.fileById('file-docs/a')?.path).toBe('docs/a')
    const same = index.filesByContentHash(a.manifest.hash).map((f) => f.path)
    expect(same).toEqual(['copy-of-a', 'docs/a'])
  })

  it('rewrites a path’s chunk locations with its new version, and forgets them on remove', () => {
    const index = new LocalIndex(':memory:')
    const v1 = encode(randomContent(2000))
    const v2 = encode(randomContent(1500))
    index.putFile(entry('f', v1.manifest, st(2000)), v1.plainHashes)
    const first = v1.manifest.chunks[1]!
    expect(index.locate(first.id)).toEqual([
      { path: 'f', offset: 1000, size: 1000, plainHash: v1.plainHashes[1] },
    ])
    index.putFile(entry('f', v2.manifest, st(1500), 2), v2.plainHashes)
    expect(index.locate(first.id)).toEqual([])
    expect(index.locate(v2.manifest.chunks[1]!.id)).toEqual([
      { path: 'f', offset: 1000, size: 500, plainHash: v2.plainHashes[1] },
    ])
    expect(index.removeFile('f')).toBe(true)
    expect(index.removeFile('f')).toBe(false)
    expect(index.locate(v2.manifest.chunks[0]!.id)).toEqual([])
  })

  it('refuses plaintext hashes that do not match the chunks, changing nothing', () => {
    const index = new LocalIndex(':memory:')
    const a = encode(randomContent(3000))
    expect(() => index.putFile(entry('f', a.manifest, st(3000)), a.plainHashes.slice(1))).toThrow(
      /2 plaintext hashes for 3 chunks/,
    )
    expect(index.getFile('f')).toBeUndefined()
  })

  it('checkpoints uploads: acks per session, a new session for the path starts over', () => {
    const index = new LocalIndex(':memory:')
    const a = encode(randomContent(3000))
    const checkpoint = {
      path: 'big',
      sessionId: 's1',
      baseVersion: null,
      manifest: a.manifest,
      plainHashes: a.plainHashes,
      stat: st(3000),
      startedAt: 42,
    }
    index.beginUpload(checkpoint)
    index.ackChunk('s1', 0)
    index.ackChunk('s1', 2)
    index.ackChunk('s1', 2)
    expect(index.acknowledged('s1')).toEqual(new Set([0, 2]))
    expect(index.getUpload('big')).toEqual(checkpoint)
    index.beginUpload({ ...checkpoint, sessionId: 's2', baseVersion: 3 })
    expect(index.acknowledged('s1')).toEqual(new Set())
    expect(index.listUploads().map((u) => [u.sessionId, u.baseVersion])).toEqual([['s2', 3]])
    index.ackChunk('s2', 1)
    index.finishUpload('big')
    expect(index.getUpload('big')).toBeUndefined()
    expect(index.acknowledged('s2')).toEqual(new Set())
    expect(() => index.ackChunk('unknown-session', 0)).toThrow() // no checkpoint, no ack
  })

  it('keeps key-value state and the cursor', () => {
    const index = new LocalIndex(':memory:')
    expect(index.cursor).toBe(0)
    index.cursor = 17
    index.set('deviceName', 'laptop')
    expect([index.cursor, index.get('deviceName'), index.get('missing')]).toEqual([
      17,
      'laptop',
      undefined,
    ])
    index.set('deviceName', undefined)
    expect(index.get('deviceName')).toBeUndefined()
  })

  it('persists in a private WAL-mode file across reopening', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cloudsync-index-'))
    dirs.push(dir)
    const file = join(dir, 'index.db')
    const a = encode(randomContent(1000))
    const first = new LocalIndex(file)
    first.putFile(entry('x', a.manifest, st(1000)), a.plainHashes)
    first.cursor = 9
    expect((await readdir(dir)).sort()).toEqual(['index.db', 'index.db-shm', 'index.db-wal'])
    for (const name of await readdir(dir)) {
      expect((await stat(join(dir, name))).mode & 0o777, name).toBe(0o600)
    }
    first.close()
    const second = new LocalIndex(file)
    expect(second.getFile('x')?.manifest).toEqual(a.manifest)
    expect(second.cursor).toBe(9)
    expect(second.locate(a.manifest.chunks[0]!.id)).toHaveLength(1)
    second.close()
  })
})
