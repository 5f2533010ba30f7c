import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { UNSYNCABLE } from '../../ports/file-system.ts'
import { NodeFileSystem } from '../node-fs.ts'
import { fsContract, listed, read, write } from './fs.contract.ts'

const cleanups: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cloudsync-fs-'))
  cleanups.push(dir)
  return dir
}

afterEach(async () => {
  for (const dir of cleanups.splice(0)) await rm(dir, { recursive: true, force: true })
})

fsContract('node:fs', async () => {
  const root = await tempDir()
  return { fs: await NodeFileSystem.open({ root }) }
})

describe('NodeFileSystem', () => {
  let base: string
  let root: string
  let outside: string
  let fs: NodeFileSystem

  beforeEach(async () => {
    base = await tempDir()
    root = join(base, 'folder')
    outside = join(base, 'outside')
    await mkdir(root)
    await mkdir(outside)
    await writeFile(join(outside, 'secret'), 'do not read')
    fs = await NodeFileSystem.open({ root })
  })

  it('refuses a path through a symlinked directory, and writes nothing outside', async () => {
    await symlink(outside, join(root, 'link'))
    await symlink(outside, join(root, 'deep-link'))
    const tmp = await fs.createTemp(4)
    await tmp.write(new TextEncoder().encode('evil'), 0)
    for (const path of ['link/x', 'link/new/dir/x', 'deep-link/secret']) {
      await expect(tmp.commit(path, 'any')).rejects.toMatchObject({ code: 'INVALID_PATH' })
    }
    await expect(fs.openRead('link/secret')).rejects.toMatchObject({ code: 'INVALID_PATH' })
    await expect(fs.stat('link/secret')).rejects.toMatchObject({ code: 'INVALID_PATH' })
    await expect(fs.remove('link/secret')).rejects.toMatchObject({ code: 'INVALID_PATH' })
    await write(fs, 'inside', 'ok')
    await expect(fs.rename('inside', 'link/moved')).rejects.toMatchObject({ code: 'INVALID_PATH' })
    expect((await readdir(outside)).sort()).toEqual(['secret'])
    expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('do not read')
    expect(await listed(fs)).toEqual(['inside']) // symlinks are not listed
  })

  it('neither reads nor lists a symlinked file, nor the state directory', async () => {
    await symlink(join(outside, 'secret'), join(root, 'alias'))
    await writeFile(join(fs.stateDir, 'index.db'), 'state')
    await expect(fs.openRead('alias')).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect(await fs.stat('alias')).toBeUndefined()
    expect(await listed(fs)).toEqual([])
  })

  it('refuses a symlinked directory that leads into the state directory', async () => {
    await symlink(fs.stateDir, join(root, 'sneaky'))
    await expect(fs.stat('sneaky/index.db')).rejects.toMatchObject({ code: 'INVALID_PATH' })
  })

  it('lists only names that are valid NFC remote paths', async () => {
    await writeFile(join(root, 'cafe\u0301'), 'decomposed') // NFD: would not map back
    await writeFile(join(root, 'back\\slash'), 'x')
    await writeFile(join(root, 'caf\u00e9'), 'composed')
    expect(await listed(fs)).toEqual(['caf\u00e9'])
  })

  it('tells what it will not sync, and why, by scan and by the path a watcher reports', async () => {
    await mkdir(join(root, 'edge'))
    await writeFile(join(root, 'edge', 'back\\slash.txt'), 'x')
    await writeFile(join(root, 'edge', 'new\nline.txt'), 'x')
    // Not UTF-8: Node shows the bad byte as U+FFFD, a name that maps back to no file.
    await writeFile(Buffer.concat([Buffer.from(`${root}/bad-`), Buffer.from([0xff])]), 'x')
    await symlink(join(outside, 'secret'), join(root, 'alias'))
    await writeFile(join(root, 'fine.txt'), 'fine')
    const skipped: Record<string, string> = {}
    const files: string[] = []
    for await (const f of fs.list({ onSkipped: (e) => (skipped[e.path] = e.reason) }))
      files.push(f.path)
    expect(files).toEqual(['fine.txt'])
    expect(skipped).toEqual({
      alias: UNSYNCABLE.symlink,
      'bad-\uFFFD': UNSYNCABLE.notUtf8,
      'edge/back\\slash.txt': expect.stringMatching(/cannot be synced: .*backslash/),
      'edge/new\nline.txt': expect.stringMatching(/cannot be synced: .*control character/),
    })
    for (const [path, reason] of Object.entries(skipped))
      expect(await fs.whyUnsyncable(path), path).toBe(reason)
    expect(await fs.whyUnsyncable('fine.txt')).toBeUndefined()
    expect(await fs.whyUnsyncable('edge')).toBeUndefined()
    expect(await fs.whyUnsyncable('gone\\name')).toBeUndefined()
    expect(await fs.whyUnsyncable('../outside/secret')).toBeUndefined()
  })

  it('a temp that was never committed leaves no file under the real name', async () => {
    const tmp = await fs.createTemp(1 << 20)
    await tmp.write(new Uint8Array(1 << 20).fill(1), 0)
    expect(await fs.stat('big.bin')).toBeUndefined()
    expect(await listed(fs)).toEqual([])
    expect((await readdir(fs.tmpDir)).length).toBe(1)
    await tmp.discard()
    expect(await readdir(fs.tmpDir)).toEqual([])
  })

  it('kill -9 while writing a new version leaves the old file whole; leftovers are ignored', async () => {
    const script = join(import.meta.dirname, 'crash-writer.ts')
    const child = spawn(process.execPath, [script, root], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('writing') && resolve())
      child.on('exit', (code) => reject(new Error(`writer exited early (${code})`)))
    })
    child.kill('SIGKILL')
    await exited
    expect(await read(fs, 'doc')).toBe('first')
    expect(await listed(fs)).toEqual(['doc'])
    const leftovers = await readdir(fs.tmpDir)
    expect(leftovers).toHaveLength(1)
    expect((await stat(join(fs.tmpDir, leftovers[0]!))).size).toBeGreaterThan(0)
    expect(await fs.removeLeftoverTemps()).toBe(1)
    expect(await readdir(fs.tmpDir)).toEqual([])
  })

  it('removing or moving the last file of a directory leaves it, as an empty folder to sync', async () => {
    await write(fs, 'a/b/c', 'c')
    await write(fs, 'm/n/o', 'o')
    expect(await fs.remove('a/b/c')).toBe(true)
    expect(await fs.rename('m/n/o', 'p')).toBe(true)
    expect((await readdir(root)).sort()).toEqual(['.cloudsync', 'a', 'm', 'p'])
    expect(await listed(fs)).toEqual(['a/b/.cloudsync-folder', 'm/n/.cloudsync-folder', 'p'])
  })

  it('never writes a marker to disk, and refuses a real file of its name', async () => {
    const temp = await fs.createTemp(0)
    expect(await temp.commit('e/.cloudsync-folder', 'absent')).toBeTruthy()
    expect(await readdir(join(root, 'e'))).toEqual([])
    await writeFile(join(root, 'e', '.cloudsync-folder'), 'mine')
    const skipped: string[] = []
    expect(await listed(fs, (entry) => skipped.push(entry.reason))).toEqual([])
    expect(skipped).toEqual([expect.stringContaining('reserved for empty folders')])
    expect(await fs.whyUnsyncable('e/.cloudsync-folder')).toContain('reserved')
  })

  it('keeps the state directory private and on the folder’s file system', async () => {
    expect((await stat(fs.stateDir)).mode & 0o777).toBe(0o700)
    expect(fs.tmpDir.startsWith(root)).toBe(true)
  })
})
