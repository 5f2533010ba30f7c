import { appendFile, mkdir, mkdtemp, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ChokidarWatcher } from '../chokidar-watcher.ts'

/** Every batch delivered, and a way to wait until the paths seen include some. */
function recorder() {
  const batches: { at: number; paths: string[] }[] = []
  const seen = () => new Set(batches.flatMap((b) => b.paths))
  return {
    batches,
    seen,
    onPaths: (paths: string[]) => batches.push({ at: performance.now(), paths }),
    async until(paths: string[], timeoutMs = 3000): Promise<void> {
      const deadline = performance.now() + timeoutMs
      while (!paths.every((p) => seen().has(p))) {
        if (performance.now() > deadline) {
          throw new Error(
            `not reported: ${paths.filter((p) => !seen().has(p))}; got ${[...seen()]}`,
          )
        }
        await sleep(5)
      }
    },
  }
}

const fsWatchHandles = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length

describe('ChokidarWatcher', () => {
  let root: string
  let watcher: ChokidarWatcher
  let rec: ReturnType<typeof recorder>

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cloudsync-watch-'))
    await mkdir(join(root, '.cloudsync'))
    watcher = new ChokidarWatcher({ root })
    rec = recorder()
    await watcher.start(rec.onPaths)
  })

  afterEach(async () => {
    await watcher.stop()
    await rm(root, { recursive: true, force: true })
  })

  it('reports creates, edits, renames and deletes, nested too, as relative POSIX paths', async () => {
    const started = performance.now()
    await writeFile(join(root, 'a.txt'), 'hello')
    await rec.until(['a.txt'])
    // A small file must be seen quickly: it is most of the propagation budget.
    expect(rec.batches[0]!.at - started).toBeLessThan(300)
    await mkdir(join(root, 'x', 'y'), { recursive: true })
    await writeFile(join(root, 'x', 'y', 'z.txt'), 'deep')
    await rec.until(['x/y/z.txt'])
    rec.batches.length = 0
    await appendFile(join(root, 'a.txt'), ' again')
    await rec.until(['a.txt'])
    await rename(join(root, 'a.txt'), join(root, 'x', 'b.txt'))
    await rec.until(['a.txt', 'x/b.txt'])
    rec.batches.length = 0
    await unlink(join(root, 'x', 'y', 'z.txt'))
    await rec.until(['x/y/z.txt'])
  })

  it('reports both halves of a rename in one batch, so it can go up as a move', async () => {
    await writeFile(join(root, 'before.txt'), 'content that moves')
    await rec.until(['before.txt'])
    rec.batches.length = 0
    await rename(join(root, 'before.txt'), join(root, 'after.txt'))
    await rec.until(['before.txt', 'after.txt'])
    const both = rec.batches.find((b) => b.paths.includes('before.txt'))!
    expect(both.paths).toContain('after.txt')
  })

  it('reports the removal of files written into folders made a moment before', async () => {
    // chokidar misses some files written into a folder just made; the rewalk reports them,
    // and their removal must be reported too, not left to the periodic rescan.
    const files: string[] = []
    for (let d = 0; d < 30; d++) {
      await mkdir(join(root, `d${d}`, 'deep'), { recursive: true })
      for (const f of ['a', 'b', 'deep/c']) {
        await writeFile(join(root, `d${d}`, f), f === 'b' ? '' : 'x')
        files.push(`d${d}/${f}`)
      }
    }
    await rec.until(files, 5000)
    // The rewalks are done once every new folder has been walked again (1.5 s after it).
    await sleep(1_800)
    rec.batches.length = 0
    for (const f of files) await unlink(join(root, f))
    await rec.until(files, 5000)
  })

  it('ignores the state directory', async () => {
    await writeFile(join(root, '.cloudsync', 'index.db'), 'state')
    await mkdir(join(root, '.cloudsync', 'tmp'))
    await writeFile(join(root, '.cloudsync', 'tmp', 'partial'), 'tmp')
    await writeFile(join(root, 'visible'), 'v')
    await rec.until(['visible'])
    await sleep(100)
    expect([...rec.seen()]).toEqual(['visible'])
  })

  it('reports a file being written only once it stops changing', async () => {
    const path = join(root, 'growing.log')
    await writeFile(path, 'start\n')
    for (let i = 0; i < 10; i++) {
      await sleep(15)
      await appendFile(path, `line ${i}\n`)
    }
    const finished = performance.now()
    const finalSize = (await stat(path)).size
    await rec.until(['growing.log'])
    expect(rec.batches.length).toBe(1)
    expect(rec.batches[0]!.at).toBeGreaterThanOrEqual(finished)
    expect((await stat(path)).size).toBe(finalSize)
  })

  it('coalesces a burst of 100 writes into a handful of batches', async () => {
    const names = Array.from({ length: 100 }, (_, i) => `burst/file-${i}.txt`)
    await mkdir(join(root, 'burst'))
    await Promise.all(names.map((n) => writeFile(join(root, n), n)))
    await rec.until(names)
    expect(rec.batches.length).toBeLessThanOrEqual(5)
  })

  it('stop() releases the file watches and delivers nothing more', async () => {
    expect(fsWatchHandles()).toBeGreaterThan(0)
    await watcher.stop()
    // Node closes the inotify handles on a later turn of the event loop.
    for (let i = 0; i < 100 && fsWatchHandles() > 0; i++) await sleep(10)
    expect(fsWatchHandles()).toBe(0)
    await writeFile(join(root, 'after-stop'), 'x')
    await sleep(200)
    expect(rec.batches).toEqual([])
  })
})
