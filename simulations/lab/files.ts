/** Files the scenarios write and compare: random bytes, streamed hashes, a folder's contents. */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, readdir, stat } from 'node:fs/promises'
import { dirname, join, relative, sep } from 'node:path'

const MiB = 1024 * 1024

/** Writes `bytes` random bytes to `path`, in 4 MiB pieces. */
export async function writeRandom(path: string, bytes: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const fh = await open(path, 'w')
  try {
    for (let left = bytes; left > 0; left -= 4 * MiB)
      await fh.write(randomBytes(Math.min(left, 4 * MiB)))
  } finally {
    await fh.close()
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const piece of createReadStream(path, { highWaterMark: 4 * MiB }))
    hash.update(piece as Buffer)
  return hash.digest('hex')
}

/** Every file under `dir` but the state dir: relative POSIX path -> size. */
export async function listSizes(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  for (const e of entries) {
    if (!e.isFile()) continue
    const rel = relative(dir, join(e.parentPath, e.name)).split(sep).join('/')
    if (rel === '.cloudsync' || rel.startsWith('.cloudsync/')) continue
    const s = await stat(join(dir, rel)).catch(() => undefined)
    if (s) out.set(rel, s.size)
  }
  return out
}

/** Bytes of `expected` (path -> size) that `dir` already holds, complete and under their names. */
export async function bytesPresent(dir: string, expected: Map<string, number>): Promise<number> {
  const have = await listSizes(dir)
  let sum = 0
  for (const [path, size] of expected) if (have.get(path) === size) sum += size
  return sum
}

/** Whether `dir` holds exactly the files of `expected` with those hashes (path -> SHA-256). */
export async function sameTree(dir: string, expected: Map<string, string>): Promise<boolean> {
  const have = await listSizes(dir)
  if (have.size !== expected.size) return false
  for (const [path, hash] of expected) {
    if (!have.has(path)) return false
    if ((await sha256File(join(dir, path))) !== hash) return false
  }
  return true
}
