import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { type FileHandle, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { aroundPageCache, openDirect, writeAround } from '../direct-writes.ts'
import { mountSmallDisk } from './small-disk.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function fileIn(parent: string, size: number) {
  const dir = await mkdtemp(join(parent, 'cloudsync-direct-'))
  dirs.push(dir)
  const path = join(dir, 'file')
  const buffered = await open(path, 'wx+')
  await buffered.truncate(size)
  return { path, buffered }
}

/** Pieces of a file at unaligned offsets, of every awkward length, in shuffled order. */
function pieces(size: number): Array<{ position: number; bytes: Buffer }> {
  const cuts = [0, 1, 4095, 4096, 4097, 12_000, 12_288, 1_500_000, 1_500_001, 3_700_123, size]
  const out = cuts.slice(1).map((end, i) => ({
    position: cuts[i]!,
    bytes: randomBytes(end - cuts[i]!),
  }))
  return out.sort(() => Math.random() - 0.5)
}

describe('writeAround', () => {
  const size = 5 * 1024 * 1024 + 77

  it('writes whole blocks directly and only the partial ones through the page cache', async () => {
    const { path, buffered } = await fileIn(tmpdir(), size)
    const direct = await openDirect(path)
    // The temp directory is on ext4 on the machines this runs on; a file system without
    // direct I/O would make this test meaningless, so it says so rather than pass.
    expect(direct, `${tmpdir()} has no direct I/O`).toBeDefined()
    const expected = Buffer.alloc(size)
    let cached = 0
    await Promise.all(
      pieces(size).map(async ({ position, bytes }) => {
        bytes.copy(expected, position)
        cached += await writeAround(direct!, buffered, bytes, position)
      }),
    )
    await buffered.sync()
    await direct!.close()
    await buffered.close()
    expect((await readFile(path)).equals(expected)).toBe(true)
    // Only the pieces' unaligned ends went through the page cache: a few blocks' worth.
    expect(cached).toBeGreaterThan(0)
    expect(cached).toBeLessThan(12 * 4096)
  })

  it('falls back to the page cache for good when the file system refuses a direct write', async () => {
    const { path, buffered } = await fileIn(tmpdir(), size)
    // A file system that opens O_DIRECT and then refuses its writes: none is at hand, so a
    // handle that answers every write as such a kernel would.
    let refusals = 0
    const refusing = {
      write: async () => {
        refusals++
        throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' })
      },
    } as unknown as FileHandle
    const write = aroundPageCache(buffered, refusing)
    const expected = Buffer.alloc(size)
    let cached = 0
    let refusingWrites = 0
    for (const { position, bytes } of pieces(size)) {
      bytes.copy(expected, position)
      const before = refusals
      cached += await write(bytes, position)
      if (refusals > before) refusingWrites++
    }
    await buffered.close()
    expect((await readFile(path)).equals(expected)).toBe(true)
    expect(cached).toBe(size)
    // Only the first write that had whole blocks tried the direct handle.
    expect(refusals).toBeGreaterThan(0)
    expect(refusingWrites).toBe(1)
  })

  it('reports a full disk to the caller and never kills the process', async () => {
    // Issue 14: a direct write that failed while the next slice waited for staging memory
    // was an unhandled rejection, and the process died before any catch ran.
    const disk = await mountSmallDisk(6)
    try {
      const script = join(import.meta.dirname, 'full-disk-writer.ts')
      const { stdout } = await promisify(execFile)(process.execPath, [script, disk.path])
      expect(stdout).toBe('caught ENOSPC\ndiscarded\n')
      // The discarded temp file gave its space back.
      expect(await readdir(join(disk.path, '.cloudsync', 'tmp'))).toEqual([])
    } finally {
      await disk.remove()
    }
  })
})
