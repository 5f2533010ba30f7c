import { describe, expect, it } from 'vitest'
import { folderMarkerOf } from '../../../protocol/paths.ts'
import type { FileStat, SkippedEntry, SyncFileSystem } from '../../ports/file-system.ts'

/** A fresh, empty folder and how to tear it down. */
export type MakeFileSystem = () => Promise<{ fs: SyncFileSystem; cleanup?: () => Promise<void> }>

const text = (s: string) => new TextEncoder().encode(s)
const str = (b: Uint8Array) => new TextDecoder().decode(b)

export async function write(fs: SyncFileSystem, path: string, content: string | Uint8Array) {
  const bytes = typeof content === 'string' ? text(content) : content
  const tmp = await fs.createTemp(bytes.length)
  await tmp.write(bytes, 0)
  return tmp.commit(path, 'any') as Promise<FileStat>
}

export async function read(fs: SyncFileSystem, path: string): Promise<string> {
  const h = await fs.openRead(path)
  try {
    return str(await h.readRange(0, h.stat.size))
  } finally {
    await h.close()
  }
}

export async function listed(
  fs: SyncFileSystem,
  onSkipped?: (entry: SkippedEntry) => void,
): Promise<string[]> {
  const out: string[] = []
  for await (const { path } of fs.list({ ...(onSkipped && { onSkipped }) })) out.push(path)
  return out.sort()
}

/** The semantics every SyncFileSystem keeps; run against node:fs and the in-memory one. */
export function fsContract(name: string, make: MakeFileSystem): void {
  describe(`SyncFileSystem contract: ${name}`, () => {
    const withFs = (body: (fs: SyncFileSystem) => Promise<void>) => async () => {
      const { fs, cleanup } = await make()
      try {
        await body(fs)
      } finally {
        await cleanup?.()
      }
    }

    it(
      'a temp file appears under its name only on commit, with the bytes written at any position',
      withFs(async (fs) => {
        const tmp = await fs.createTemp(10)
        await tmp.write(text('world'), 5)
        await tmp.write(text('hello'), 0)
        expect(new TextDecoder().decode(await tmp.read(3, 4))).toBe('lowo')
        await expect(tmp.read(8, 4)).rejects.toThrow(/no 4 bytes at 8/)
        expect(await fs.stat('greeting.txt')).toBeUndefined()
        expect(await listed(fs)).toEqual([])
        const stat = await tmp.commit('greeting.txt', 'absent')
        expect(stat).toMatchObject({ size: 10 })
        expect(await fs.stat('greeting.txt')).toEqual(stat)
        expect(await read(fs, 'greeting.txt')).toBe('helloworld')
        expect(await listed(fs)).toEqual(['greeting.txt'])
      }),
    )

    it(
      'a discarded temp leaves nothing behind, and empty files commit',
      withFs(async (fs) => {
        const tmp = await fs.createTemp(3)
        await tmp.write(text('abc'), 0)
        await tmp.discard()
        const empty = await fs.createTemp(0)
        expect(await empty.commit('empty', 'absent')).toMatchObject({ size: 0 })
        expect(await listed(fs)).toEqual(['empty'])
        expect(await read(fs, 'empty')).toBe('')
      }),
    )

    it(
      'commit refuses to replace a file the caller did not expect, and the temp stays usable',
      withFs(async (fs) => {
        const first = await write(fs, 'doc.txt', 'mine')
        const tmp = await fs.createTemp(6)
        await tmp.write(text('theirs'), 0)
        expect(await tmp.commit('doc.txt', 'absent')).toBe(false)
        const stale: FileStat = { ...first, mtimeMs: first.mtimeMs - 1000 }
        expect(await tmp.commit('doc.txt', stale)).toBe(false)
        expect(await read(fs, 'doc.txt')).toBe('mine')
        // The displaced version can still go elsewhere, e.g. a conflict copy.
        expect(await tmp.commit('doc (copy).txt', 'absent')).toMatchObject({ size: 6 })
        expect(await read(fs, 'doc (copy).txt')).toBe('theirs')
        expect(await read(fs, 'doc.txt')).toBe('mine')
      }),
    )

    it(
      'commit replaces the expected file, and a handle keeps reading the file it opened',
      withFs(async (fs) => {
        const first = await write(fs, 'f', 'old!')
        const handle = await fs.openRead('f')
        const tmp = await fs.createTemp(3)
        await tmp.write(text('new'), 0)
        const second = await tmp.commit('f', first)
        expect(second).not.toBe(false)
        expect((second as FileStat).ino).not.toBe(first.ino)
        expect(await read(fs, 'f')).toBe('new')
        expect(str(await handle.readRange(0, 4))).toBe('old!')
        await handle.close()
      }),
    )

    it(
      'creates parent directories and lists nested files with / separators',
      withFs(async (fs) => {
        await write(fs, 'a/b/c.txt', 'c')
        await write(fs, 'a/d.txt', 'd')
        await write(fs, 'top', 't')
        expect(await listed(fs)).toEqual(['a/b/c.txt', 'a/d.txt', 'top'])
        expect(await fs.stat('a')).toBeUndefined() // a directory is not a file
        expect(await fs.stat('a/b/c.txt')).toMatchObject({ size: 1 })
      }),
    )

    it(
      'a file where a directory is needed (or the reverse) is a CONFLICT',
      withFs(async (fs) => {
        await write(fs, 'x', 'file')
        await write(fs, 'dir/y', 'y')
        const tmp = await fs.createTemp(1)
        await tmp.write(text('z'), 0)
        await expect(tmp.commit('x/z', 'any')).rejects.toMatchObject({ code: 'CONFLICT' })
        // A folder in the way is no local edit to keep (that answer dropped the file for
        // good, issue 14): the caller must learn of the clash.
        await expect(tmp.commit('dir', 'absent')).rejects.toMatchObject({ code: 'CONFLICT' })
        await expect(tmp.commit('dir', 'any')).rejects.toMatchObject({ code: 'CONFLICT' })
        expect(await listed(fs)).toEqual(['dir/y', 'x'])
      }),
    )

    it(
      'reads sequentially through the source and exactly through readRange',
      withFs(async (fs) => {
        const bytes = new Uint8Array(10_000).map((_, i) => i % 251)
        await write(fs, 'bin', bytes)
        const h = await fs.openRead('bin')
        const chunks: Uint8Array[] = []
        for (;;) {
          const buf = new Uint8Array(3000)
          const n = await h.source.readInto(buf)
          if (n === 0) break
          chunks.push(buf.subarray(0, n))
        }
        expect(Buffer.concat(chunks).equals(Buffer.from(bytes))).toBe(true)
        expect([...(await h.readRange(9998, 2))]).toEqual([bytes[9998], bytes[9999]])
        await expect(h.readRange(9000, 1001)).rejects.toMatchObject({ code: 'CONFLICT' })
        await h.close()
        await expect(fs.openRead('missing')).rejects.toMatchObject({ code: 'NOT_FOUND' })
      }),
    )

    it(
      'remove only removes the expected file',
      withFs(async (fs) => {
        const stat = await write(fs, 'sub/r', 'r')
        expect(await fs.remove('sub/r', { ...stat, size: 99 })).toBe(false)
        expect(await fs.stat('sub/r')).toEqual(stat)
        expect(await fs.remove('sub/r', stat)).toBe(true)
        expect(await fs.remove('sub/r')).toBe(false)
        // The emptied folder stays, shown as its marker, until it is removed as a folder.
        expect(await listed(fs)).toEqual([folderMarkerOf('sub')])
        expect(await fs.removeFolder('sub')).toBe(true)
        expect(await listed(fs)).toEqual([])
        await write(fs, 'sub', 'now a file')
        expect(await read(fs, 'sub')).toBe('now a file')
        expect(await fs.removeFolder('sub')).toBe(false)
      }),
    )

    it(
      'an empty folder is its marker: listed, written (made), moved and removed as one',
      withFs(async (fs) => {
        const marker = folderMarkerOf('a/empty')
        expect(await fs.stat(marker)).toBeUndefined()
        const temp = await fs.createTemp(0)
        const made = await temp.commit(marker, 'absent')
        expect(made).toMatchObject({ size: 0, mtimeMs: 0 })
        expect(await fs.stat(marker)).toEqual(made)
        expect(await listed(fs)).toEqual([marker])
        const under: string[] = []
        for await (const { path } of fs.list({ under: 'a/empty' })) under.push(path)
        expect(under).toEqual([marker])
        const handle = await fs.openRead(marker)
        expect(await handle.source.readInto(new Uint8Array(8))).toBe(0)
        await handle.close()
        // A file inside fills the folder: no marker, and the folder cannot go.
        await write(fs, 'a/empty/f', 'f')
        expect(await fs.stat(marker)).toBeUndefined()
        expect(await fs.remove(marker)).toBe(false)
        expect(await fs.removeFolder('a/empty')).toBe(false)
        expect(await fs.remove('a/empty/f')).toBe(true)
        const stat = await fs.stat(marker)
        expect(stat).toEqual(made)
        // Moved as a folder, never as a file.
        expect(await fs.rename(marker, 'a/file.txt', stat)).toBe(false)
        expect(await fs.rename(marker, folderMarkerOf('b'), stat)).toBe(true)
        expect(await listed(fs)).toEqual([folderMarkerOf('a'), folderMarkerOf('b')])
        expect(await fs.remove(folderMarkerOf('b'), { ...stat!, ino: -1 })).toBe(false)
        expect(await fs.remove(folderMarkerOf('b'))).toBe(true)
        expect(await listed(fs)).toEqual([folderMarkerOf('a')])
        // A file where the folder goes is a clash, as for any file's parent.
        await write(fs, 'c', 'file')
        const clash = await fs.createTemp(0)
        await expect(clash.commit(folderMarkerOf('c'), 'absent')).rejects.toMatchObject({
          code: 'CONFLICT',
        })
      }),
    )

    it(
      'rename moves a file (same inode) and refuses a taken target or a changed source',
      withFs(async (fs) => {
        const stat = await write(fs, 'from.txt', 'content')
        await write(fs, 'taken', 'other')
        expect(await fs.rename('from.txt', 'taken', stat)).toBe(false)
        expect(await fs.rename('from.txt', 'to/x.txt', { ...stat, ino: stat.ino + 1 })).toBe(false)
        expect(await fs.rename('nothing', 'to/y.txt')).toBe(false)
        expect(await fs.rename('from.txt', 'to/x.txt', stat)).toBe(true)
        expect(await fs.stat('from.txt')).toBeUndefined()
        expect((await fs.stat('to/x.txt'))?.ino).toBe(stat.ino)
        expect(await read(fs, 'to/x.txt')).toBe('content')
        expect(await read(fs, 'taken')).toBe('other')
        expect(await listed(fs)).toEqual(['taken', 'to/x.txt'])
      }),
    )

    it(
      'lists the files inside one folder, and nothing for a file or a missing path',
      withFs(async (fs) => {
        for (const path of ['notes.md/a', 'notes.md/deep/b', 'notes.mdx', 'other/c'])
          await write(fs, path, path)
        const under = async (folder: string) => {
          const out: string[] = []
          for await (const { path } of fs.list({ under: folder })) out.push(path)
          return out.sort()
        }
        expect(await under('notes.md')).toEqual(['notes.md/a', 'notes.md/deep/b'])
        expect(await under('notes.md/deep')).toEqual(['notes.md/deep/b'])
        expect(await under('notes.mdx')).toEqual([])
        expect(await under('missing')).toEqual([])
      }),
    )

    it(
      'refuses invalid paths and the state directory everywhere',
      withFs(async (fs) => {
        const bad = [
          '../escape',
          '/etc/passwd',
          'a/../../b',
          'a//b',
          'C:evil',
          '.cloudsync/index.db',
        ]
        const tmp = await fs.createTemp(1)
        await tmp.write(text('!'), 0)
        for (const path of bad) {
          const invalid = { code: 'INVALID_PATH' }
          await expect(fs.stat(path), path).rejects.toMatchObject(invalid)
          await expect(fs.openRead(path), path).rejects.toMatchObject(invalid)
          await expect(tmp.commit(path, 'any'), path).rejects.toMatchObject(invalid)
          await expect(fs.remove(path), path).rejects.toMatchObject(invalid)
          await expect(fs.rename('x', path), path).rejects.toMatchObject(invalid)
        }
        await tmp.discard()
        expect(await listed(fs)).toEqual([])
      }),
    )
  })
}
