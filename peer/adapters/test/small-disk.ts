/**
 * A small tmpfs mounted for one test, so a full disk (ENOSPC) is real, not simulated.
 * Needs root (the tests run as root here); the mount point is unique to this process and
 * is unmounted and removed by `remove()`.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface SmallDisk {
  path: string
  remove(): Promise<void>
}

/** Mounts it at `at` (an existing empty directory) or at a new temp directory. */
export async function mountSmallDisk(megabytes: number, at?: string): Promise<SmallDisk> {
  const path = at ?? (await mkdtemp(join(tmpdir(), `cloudsync-small-disk-${process.pid}-`)))
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m,mode=0755`, 'tmpfs', path])
  } catch (err) {
    if (!at) await rm(path, { recursive: true, force: true })
    throw new Error(`could not mount a ${megabytes} MiB tmpfs (root needed): ${err}`)
  }
  return {
    path,
    async remove() {
      await run('umount', ['-l', path]).catch(() => {})
      if (!at) await rm(path, { recursive: true, force: true })
    },
  }
}
