import { describe, expect, it } from 'vitest'
import { MemoryFileSystem } from '../memory-fs.ts'
import { fsContract, read, write } from './fs.contract.ts'

fsContract('memory', async () => ({ fs: new MemoryFileSystem() }))

describe('MemoryFileSystem', () => {
  it('takes mtimes from the injected clock and numbers inodes deterministically', async () => {
    let now = 1000
    const fs = new MemoryFileSystem({ clock: { now: () => now } })
    const a = await write(fs, 'a', 'x')
    now = 2000
    const b = await write(fs, 'b', 'y')
    expect([a.ino, a.mtimeMs, b.ino, b.mtimeMs]).toEqual([1, 1000, 2, 2000])
  })

  it('a user edit in place keeps the inode and always changes the stat', async () => {
    const fs = new MemoryFileSystem({ clock: { now: () => 5 } })
    const before = fs.writeFile('doc', new TextEncoder().encode('one'))
    const after = fs.writeFile('doc', new TextEncoder().encode('two'))
    expect(after.ino).toBe(before.ino)
    expect(after.mtimeMs).toBeGreaterThan(before.mtimeMs)
    expect(await read(fs, 'doc')).toBe('two')
    expect(fs.deleteFile('doc')).toBe(true)
    expect(await fs.stat('doc')).toBeUndefined()
  })

  it('its watcher batches the changed paths', async () => {
    const fs = new MemoryFileSystem()
    const batches: string[][] = []
    const watcher = fs.watcher()
    await watcher.start((paths) => batches.push(paths))
    fs.writeFile('a', new Uint8Array(1))
    fs.writeFile('b/c', new Uint8Array(1))
    await new Promise((r) => setTimeout(r, 0))
    // The folder made for b/c is reported too, as chokidar reports addDir.
    expect(batches).toEqual([['a', 'b', 'b/c']])
    await watcher.stop()
    fs.writeFile('d', new Uint8Array(1))
    await new Promise((r) => setTimeout(r, 0))
    expect(batches).toHaveLength(1)
  })
})
