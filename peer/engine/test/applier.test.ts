import { describe, expect, it } from 'vitest'
import { createDomainSecret } from '../../../protocol/crypto/keys.ts'
import { sourceFromBytes } from '../../../protocol/pipeline/byte-source.ts'
import { ChunkPipeline, type EncodedChunk } from '../../../protocol/pipeline/encode.ts'
import type { Change } from '../../../protocol/schemas/sync.ts'
import { MemoryFileSystem } from '../../adapters/memory-fs.ts'
import { type ChunkSource, getEach } from '../../chunk-sources/chunk-source.ts'
import { ChunkFetcher } from '../../chunk-sources/fetcher.ts'
import { syncIndexOf } from '../../daemon/index-port.ts'
import { LocalIndex } from '../../local-index/local-index.ts'
import { ChangeApplier } from '../applier.ts'
import { ClashMover } from '../clash-mover.ts'
import { PathLocks } from '../path-locks.ts'

const secret = createDomainSecret()
const ids = {
  file: '11111111-1111-4111-8111-111111111111',
  device: '22222222-2222-4222-8222-222222222222',
}

async function versionOf(
  content: string,
  seq: number,
  path: string,
): Promise<{ change: Change; source: ChunkSource }> {
  const chunks: EncodedChunk[] = []
  const pipeline = new ChunkPipeline({
    secret,
    workers: 0,
    chunking: { minSize: 64, avgSize: 256, maxSize: 1024 },
  })
  const { manifest } = await pipeline.encode(sourceFromBytes(new TextEncoder().encode(content)), {
    keepCiphertext: true,
    onChunk: (c) => {
      chunks.push(c)
    },
  })
  const store = new Map(chunks.map((c) => [c.id, c.ciphertext!]))
  // Copies, as ChunkSource promises: the fetcher releases what it is handed.
  const get = async (id: string) => new Uint8Array(store.get(id)!)
  const source: ChunkSource = {
    name: 'test',
    get,
    getMany: (wanted, options) => getEach(get, wanted, options),
  }
  const change: Change = {
    seq,
    kind: seq === 1 ? 'created' : 'modified',
    fileId: ids.file,
    path,
    version: seq,
    size: manifest.size,
    hash: manifest.hash,
    chunks: manifest.chunks,
    deviceId: ids.device,
    committedAt: new Date().toISOString(),
  }
  return { change, source }
}

function applierFor(
  fs: MemoryFileSystem,
  source: () => ChunkSource,
  options: { ignores?: (path: string) => boolean; moveClashes?: boolean } = {},
) {
  const { ignores, moveClashes = false } = options
  const logged: string[] = []
  const index = syncIndexOf(new LocalIndex(':memory:'), Date.now)
  const log = (_: string, message: string) => logged.push(message)
  const clashes = new ClashMover({
    fs,
    index,
    locks: new PathLocks(),
    deviceName: 'laptop',
    now: () => Date.UTC(2026, 0, 2, 3, 4, 5),
    log,
  })
  const applier = new ChangeApplier({
    fs,
    index,
    secret,
    fetcher: new ChunkFetcher(),
    ...(ignores && { ignores }),
    sourcesFor: () => [source()],
    log,
    ...(moveClashes && { clashes }),
  })
  return { applier, index, logged }
}

describe('change applier', () => {
  it.each(['../escape.txt', '/etc/passwd', 'a/../../b', 'C:\\x'])(
    'refuses the unsafe remote path %s and writes nothing',
    async (path) => {
      const fs = new MemoryFileSystem()
      const { change, source } = await versionOf('attack', 1, 'ok.txt')
      const { applier, logged } = applierFor(fs, () => source)
      expect(await applier.apply({ ...change, path })).toBe('refused-path')
      expect(logged).toContain('refused a remote change with an unsafe path')
      const files = []
      for await (const f of fs.list()) files.push(f.path)
      expect(files).toEqual([])
    },
  )

  it('writes a remote version, then never overwrites a local edit made since', async () => {
    const fs = new MemoryFileSystem()
    const v1 = await versionOf('version one', 1, 'doc.txt')
    const v2 = await versionOf('version two from another device', 2, 'doc.txt')
    let source = v1.source
    const { applier } = applierFor(fs, () => source)
    expect(await applier.apply(v1.change)).toBe('written')
    expect(new TextDecoder().decode(fs.readFile('doc.txt'))).toBe('version one')
    expect(await applier.apply(v1.change)).toBe('already-synced')

    fs.writeFile('doc.txt', new TextEncoder().encode('my unsaved local edit'))
    source = v2.source
    expect(await applier.apply(v2.change)).toBe('kept-local-edit')
    expect(new TextDecoder().decode(fs.readFile('doc.txt'))).toBe('my unsaved local edit')
  })

  it('keeps a locally edited file when the remote side deleted it (an edit beats a delete)', async () => {
    const fs = new MemoryFileSystem()
    const v1 = await versionOf('shared', 1, 'x.txt')
    const { applier } = applierFor(fs, () => v1.source)
    await applier.apply(v1.change)
    fs.writeFile('x.txt', new TextEncoder().encode('edited here'))
    const deleted: Change = { ...v1.change, seq: 2, kind: 'deleted', chunks: undefined }
    expect(await applier.apply(deleted)).toBe('kept-local-edit')
    expect(fs.readFile('x.txt')).toBeDefined()
  })

  it('neither writes nor deletes an ignored path; a move into ignored deletes, out of it writes', async () => {
    const fs = new MemoryFileSystem()
    const ignores = (path: string) => path.startsWith('private/')
    const v1 = await versionOf('secret', 1, 'private/key.txt')
    const { applier, index } = applierFor(fs, () => v1.source, { ignores })
    expect(await applier.apply(v1.change)).toBe('ignored')
    expect(fs.readFile('private/key.txt')).toBeUndefined()
    const out: Change = {
      ...v1.change,
      seq: 2,
      kind: 'moved',
      fromPath: 'private/key.txt',
      path: 'key.txt',
    }
    expect(await applier.apply(out)).toBe('written')
    expect(new TextDecoder().decode(fs.readFile('key.txt'))).toBe('secret')
    const back: Change = {
      ...out,
      seq: 3,
      version: 3,
      fromPath: 'key.txt',
      path: 'private/key.txt',
    }
    expect(await applier.apply(back)).toBe('deleted')
    expect(fs.readFile('key.txt')).toBeUndefined()
    expect(fs.readFile('private/key.txt')).toBeUndefined()
    // A file here under an ignored path stays, and is no longer taken for the synced one.
    fs.writeFile('private/key.txt', new TextEncoder().encode('mine'))
    const gone: Change = { ...back, seq: 4, version: 4, kind: 'deleted', fromPath: undefined }
    expect(await applier.apply(gone)).toBe('ignored')
    expect(new TextDecoder().decode(fs.readFile('private/key.txt'))).toBe('mine')
    expect(index.getFile('private/key.txt')).toBeUndefined()
  })

  it('writes a remote edit of a file deleted here while the edit was fetched (an edit beats a delete)', async () => {
    const fs = new MemoryFileSystem()
    const v1 = await versionOf('shared', 1, 'x.txt')
    const v2 = await versionOf('edited on the other device', 2, 'x.txt')
    let source = v1.source
    const { applier } = applierFor(fs, () => source)
    await applier.apply(v1.change)
    // The user deletes the file after the applier looked at it, before the commit.
    source = {
      ...v2.source,
      getMany: (wanted, options) => {
        fs.deleteFile('x.txt')
        return v2.source.getMany(wanted, options)
      },
    }
    expect(await applier.apply(v2.change)).toBe('written')
    expect(new TextDecoder().decode(fs.readFile('x.txt'))).toBe('edited on the other device')
  })

  describe('a remote file where the device has a folder of its name', () => {
    const setUp = async (moveClashes: boolean) => {
      const fs = new MemoryFileSystem()
      const inside = await versionOf('synced inside', 1, 'notes.md/old')
      const file = await versionOf('the remote file', 2, 'notes.md')
      let source = inside.source
      const { applier, index } = applierFor(fs, () => source, { moveClashes })
      expect(await applier.apply(inside.change)).toBe('written')
      fs.writeFile('notes.md/new', new TextEncoder().encode('new, not synced'))
      source = file.source
      return { fs, index, applier, file }
    }

    it('moves the unsynced files aside to a conflict-copy name, drops the synced one, and writes the file', async () => {
      const { fs, index, applier, file } = await setUp(true)
      expect(await applier.apply(file.change)).toBe('written')
      const files: Record<string, string> = {}
      for await (const f of fs.list()) files[f.path] = new TextDecoder().decode(fs.readFile(f.path))
      expect(files).toEqual({
        'notes.md': 'the remote file',
        'notes (conflicted copy from laptop 2026-01-02 030405).md/new': 'new, not synced',
      })
      expect(index.getFile('notes.md/old')).toBeUndefined()
      expect(index.getFile('notes.md')?.version).toBe(2)
    })

    it('without a clash mover, the change fails as a clash and nothing moves', async () => {
      const { fs, applier, file } = await setUp(false)
      await expect(applier.apply(file.change)).rejects.toMatchObject({ code: 'CONFLICT' })
      expect(fs.readFile('notes.md/new')).toBeDefined()
      expect(fs.readFile('notes.md/old')).toBeDefined()
    })

    it('moves aside a local file where the remote file needs a folder', async () => {
      const fs = new MemoryFileSystem()
      const inner = await versionOf('inside a folder', 1, 'd/inner')
      const { applier } = applierFor(fs, () => inner.source, { moveClashes: true })
      fs.writeFile('d', new TextEncoder().encode('a local file, not synced'))
      expect(await applier.apply(inner.change)).toBe('written')
      expect(new TextDecoder().decode(fs.readFile('d/inner'))).toBe('inside a folder')
      expect(
        new TextDecoder().decode(fs.readFile('d (conflicted copy from laptop 2026-01-02 030405)')),
      ).toBe('a local file, not synced')
    })
  })
})
