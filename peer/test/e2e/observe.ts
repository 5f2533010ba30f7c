/**
 * What the end-to-end tests observe: a daemon's status file, and folders compared by the
 * SHA-256 of every file in them.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { DaemonStatus } from '../../daemon/daemon.ts'
import { waitFor } from './wait.ts'

/** A device folder's state directory (the daemon's index, status file and temp files). */
export const STATE_DIR = '.cloudsync'

/** What observing a device needs of the harness's `Device`. */
export interface ObservedDevice {
  name: string
  dir: string
  stateDir: string
  daemon?: { readonly pid: number } | undefined
}

/** The daemon's status file, or undefined while there is none (or it is being replaced). */
export async function readStatus(device: ObservedDevice): Promise<DaemonStatus | undefined> {
  try {
    return JSON.parse(await readFile(join(device.stateDir, 'status.json'), 'utf8')) as DaemonStatus
  } catch {
    return undefined
  }
}

/** Status fresher than `since` (ms since epoch) from the running daemon. */
export async function freshStatus(
  device: ObservedDevice,
  since = Date.now(),
): Promise<DaemonStatus> {
  return waitFor(
    async () => {
      const s = await readStatus(device)
      return s && s.pid === device.daemon?.pid && Date.parse(s.updatedAt) >= since && s
    },
    { timeoutMs: 10_000, what: `a fresh status of ${device.name}` },
  )
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Every file under `dir` (the state dir excluded): relative POSIX path -> SHA-256. */
export async function hashTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  for (const e of entries) {
    if (!e.isFile()) continue
    const full = join(e.parentPath, e.name)
    const rel = relative(dir, full).split(sep).join('/')
    if (rel === STATE_DIR || rel.startsWith(`${STATE_DIR}/`)) continue
    out.set(rel, await sha256File(full))
  }
  return out
}

/** Every empty folder under `dir` (the state dir excluded), sorted. */
export async function emptyFolders(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isDirectory()) continue
    const full = join(e.parentPath, e.name)
    const rel = relative(dir, full).split(sep).join('/')
    if (rel === STATE_DIR || rel.startsWith(`${STATE_DIR}/`)) continue
    if ((await readdir(full)).length === 0) out.push(rel)
  }
  return out.sort()
}

/** Sorted `path=hash` lines, for readable comparisons. */
export const treeLines = (tree: Map<string, string>): string[] =>
  [...tree].map(([p, h]) => `${p}=${h.slice(0, 12)}`).sort()

/** Waits until every folder holds exactly `expected` (path -> SHA-256). */
export async function waitForTrees(
  devices: ObservedDevice[],
  expected: Map<string, string>,
  timeoutMs = 30_000,
): Promise<void> {
  const want = treeLines(expected).join('\n')
  let last = ''
  await waitFor(
    async () => {
      for (const d of devices) {
        const got = treeLines(await hashTree(d.dir)).join('\n')
        if (got !== want) {
          last = `${d.name}:\n${got}`
          return false
        }
      }
      return true
    },
    { timeoutMs, intervalMs: 200, what: `folders to hold:\n${want}` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nlast mismatch: ${last}`)
  })
}

export const sha256 = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex')
