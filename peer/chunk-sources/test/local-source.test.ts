import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { decryptChunk, verifyChunkId } from '../../../protocol/crypto/chunk-cipher.ts'
import { MemoryFileSystem } from '../../adapters/memory-fs.ts'
import { NodeFileSystem } from '../../adapters/node-fs.ts'
import { LocalIndex } from '../../local-index/local-index.ts'
import { encode, entry, randomContent, secret } from '../../local-index/test/helpers.ts'
import type { ChunkResult } from '../chunk-source.ts'
import { localChunkSource, ownChunkProvider } from '../local-source.ts'

/** A folder holding `bytes` at `path`, indexed as synced. */
function indexed(path: string, bytes: Uint8Array) {
  const fs = new MemoryFileSystem()
  const index = new LocalIndex(':memory:')
  const encoded = encode(bytes)
  const stat = fs.writeFile(path, bytes)
  index.putFile(entry(path, encoded.manifest, stat), encoded.plainHashes)
  return { fs, index, ...encoded }
}

describe('ownChunkProvider', () => {
  it('serves each chunk of an indexed file as the exact ciphertext its id names', async () => {
    const bytes = randomContent(3500)
    const { fs, index, manifest, ciphertexts } = indexed('dir/file', bytes)
    const provider = ownChunkProvider({ index, fs, secret })
    for (const [i, chunk] of manifest.chunks.entries()) {
      const served = await provider.read(chunk.id)
      expect(Buffer.from(served!).equals(ciphertexts[i]!)).toBe(true)
      verifyChunkId(chunk.id, served!)
      const plain = decryptChunk(secret, chunk, served!)
      expect(plain.equals(bytes.subarray(chunk.offset, chunk.offset + chunk.size))).toBe(true)
    }
    expect(await provider.read('0'.repeat(64))).toBeUndefined()
  })

  it('never serves a chunk from a file edited since it was indexed', async () => {
    const bytes = randomContent(2000)
    const { fs, index, manifest } = indexed('f', bytes)
    const provider = ownChunkProvider({ index, fs, secret })
    // The same bytes written again: only the stat changed, and that is enough to refuse.
    fs.writeFile('f', bytes)
    expect(await provider.read(manifest.chunks[0]!.id)).toBeUndefined()
    fs.deleteFile('f')
    expect(await provider.read(manifest.chunks[0]!.id)).toBeUndefined()
  })

  it('falls back to another file holding the same chunk', async () => {
    const bytes = randomContent(2000)
    const { fs, index, manifest, plainHashes } = indexed('a', bytes)
    const copy = fs.writeFile('b', bytes)
    index.putFile(entry('b', manifest, copy), plainHashes)
    fs.writeFile('a', randomContent(2000))
    const provider = ownChunkProvider({ index, fs, secret })
    const served = await provider.read(manifest.chunks[1]!.id)
    expect(served).toBeDefined()
    verifyChunkId(manifest.chunks[1]!.id, served!)
  })

  it('under another secret the re-encrypted bytes do not match the id, so nothing is served', async () => {
    const { fs, index, manifest } = indexed('f', randomContent(1000))
    const provider = ownChunkProvider({ index, fs, secret: new Uint8Array(32).fill(7) })
    expect(await provider.read(manifest.chunks[0]!.id)).toBeUndefined()
  })

  describe('on disk', () => {
    let dir: string
    afterEach(async () => rm(dir, { recursive: true, force: true }))

    it('refuses a same-size edit that kept the stat: the plaintext hash catches it', async () => {
      dir = await mkdtemp(join(tmpdir(), 'cloudsync-own-'))
      const fs = await NodeFileSystem.open({ root: dir })
      const index = new LocalIndex(':memory:')
      const bytes = randomContent(2000)
      const abs = join(dir, 'f')
      await writeFile(abs, bytes)
      // A whole-second mtime, so it can be put back exactly.
      await utimes(abs, 1_700_000_000, 1_700_000_000)
      const encoded = encode(bytes)
      const before = (await fs.stat('f'))!
      index.putFile(entry('f', encoded.manifest, before), encoded.plainHashes)
      const provider = ownChunkProvider({ index, fs, secret })
      expect(await provider.read(encoded.manifest.chunks[0]!.id)).toBeDefined()
      // Rewrite in place (same inode, same size) and put the mtime back.
      await writeFile(abs, randomContent(2000))
      await utimes(abs, 1_700_000_000, 1_700_000_000)
      expect(await fs.stat('f')).toEqual(before)
      expect(await provider.read(encoded.manifest.chunks[0]!.id)).toBeUndefined()
    })
  })
})

describe('localChunkSource', () => {
  it('gets chunks, NOT_FOUND for others, and one result per id from getMany', async () => {
    const { fs, index, manifest } = indexed('f', randomContent(3000))
    const source = localChunkSource({ index, fs, secret })
    expect(source.name).toBe('local')
    const id = manifest.chunks[2]!.id
    verifyChunkId(id, await source.get(id))
    const missing = 'f'.repeat(64)
    await expect(source.get(missing)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    const results: ChunkResult[] = []
    for await (const r of source.getMany([...manifest.chunks.map((c) => c.id), missing])) {
      results.push(r)
    }
    expect(results).toHaveLength(4)
    expect(results.find((r) => r.id === missing)?.error?.code).toBe('NOT_FOUND')
    expect(results.filter((r) => r.bytes).length).toBe(3)
  })
})
