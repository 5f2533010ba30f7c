/**
 * Scenario 6: kill -9 mid-transfer.
 * - The uploader (`cloudsync put` of a 200 MiB file) is killed once some chunks are
 *   acknowledged; run again, it resumes the session and sends only what the coordinator
 *   still lacks, which is at most what was not acknowledged before the kill.
 * - A downloader (B's daemon bringing that file down) is killed mid-file: the real name
 *   never holds a partial file, and after a restart the file arrives whole.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { HttpCoordinator } from '../../adapters/http-coordinator.ts'
import { loadDeviceState } from '../../daemon/device-state.ts'
import {
  BIN,
  type Coordinator,
  type Device,
  E2E,
  freshStatus,
  sha256File,
  sleep,
  waitFor,
} from './harness.ts'

const MiB = 1024 * 1024
const SIZE = 200 * MiB
/** Chunk PUTs the uploader keeps in flight (Uploader's default concurrency). */
const UPLOAD_CONCURRENCY = 4

let e2e: E2E
let coordinator: Coordinator
let a: Device
let b: Device
let api: HttpCoordinator
let local: string
let hash: string

/** The `put` checkpoint: session id and acknowledged chunk indexes, read beside the writer. */
function checkpoint(
  stateDir: string,
): { sessionId: string; chunks: number; acked: Set<number> } | undefined {
  const file = join(stateDir, 'put-index.db')
  if (!existsSync(file)) return undefined
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    db.exec('PRAGMA busy_timeout = 2000')
    const row = db.prepare('SELECT session_id, manifest FROM uploads').get() as
      | { session_id: string; manifest: string }
      | undefined
    if (!row) return undefined
    const acks = db
      .prepare('SELECT chunk_index FROM upload_acks WHERE session_id = ?')
      .all(row.session_id) as { chunk_index: number }[]
    return {
      sessionId: row.session_id,
      chunks: (JSON.parse(row.manifest) as { chunks: unknown[] }).chunks.length,
      acked: new Set(acks.map((r) => Number(r.chunk_index))),
    }
  } catch {
    return undefined // not created yet, or mid-migration
  } finally {
    db.close()
  }
}

/** The session's status once its missing set held still for three reads (bounded). */
async function settledStatus(sessionId: string) {
  let last = await api.uploadStatus(sessionId)
  for (let same = 0, reads = 0; same < 3 && reads < 40; reads++) {
    await sleep(250)
    const next = await api.uploadStatus(sessionId)
    same = next.missing.length === last.missing.length ? same + 1 : 0
    last = next
  }
  return last
}

beforeAll(async () => {
  e2e = await E2E.create('crash')
  coordinator = await e2e.startCoordinator()
  ;[a, b] = await e2e.account(coordinator, ['a', 'b'])
  const state = await loadDeviceState(a.stateDir)
  api = new HttpCoordinator({ baseUrl: coordinator.url, credential: state.credential })
  local = join(e2e.root, 'big.bin')
  const handle = await open(local, 'w')
  for (let done = 0; done < SIZE; done += 8 * MiB) await handle.write(randomBytes(8 * MiB))
  await handle.close()
  hash = await sha256File(local)
}, 120_000)

afterAll(async () => {
  await e2e?.cleanup()
})

describe('kill -9 mid-transfer', () => {
  test('the uploader resumes and re-sends no acknowledged chunk', async () => {
    const put = e2e.spawn('put-1', BIN, ['put', local, 'big.bin', '--dir', a.dir])
    // Kill once a few chunks are acknowledged and many are not.
    const before = await waitFor(
      () => {
        if (!put.running) throw new Error(`put exited early:\n${put.output}`)
        const cp = checkpoint(a.stateDir)
        return cp && cp.acked.size >= 3 && cp
      },
      { timeoutMs: 120_000, intervalMs: 10, what: 'put to acknowledge some chunks' },
    )
    await put.kill('SIGKILL')
    const killed = checkpoint(a.stateDir)!
    expect(killed.sessionId).toBe(before.sessionId)
    // A PUT whose body had left the killed process's socket still lands on the
    // coordinator, possibly after this snapshot: the one "expected 40 to be 41" failure.
    // Waiting for the stored set to hold still narrows that window; the bounds below allow
    // for it, since only a chunk in flight at the kill can land late.
    const status = await settledStatus(killed.sessionId)
    expect(status.state).toBe('open')
    const total = killed.chunks
    const missing = new Set(status.missing)
    // The kill landed mid-upload: chunks acknowledged, chunks still missing.
    expect(killed.acked.size).toBeGreaterThan(0)
    expect(missing.size).toBeGreaterThan(0)
    // Every acknowledged chunk is stored; at most the in-flight ones are stored unacknowledged.
    for (const i of killed.acked) expect(missing.has(i)).toBe(false)
    expect(total - killed.acked.size - missing.size).toBeLessThanOrEqual(UPLOAD_CONCURRENCY)

    const again = await e2e.cli(['put', local, 'big.bin', '--dir', a.dir], 180_000)
    expect(again.code, again.stderr).toBe(0)
    const m = /big\.bin: version (\d+), .* sent in (\d+) chunk\(s\)/.exec(again.stdout)
    expect(m, again.stdout).not.toBeNull()
    const sentAfter = Number(m![2])
    // After the restart it sent what the coordinator lacked: what the snapshot lacked, less
    // any in-flight chunk that landed after it; never an acknowledged one.
    expect(sentAfter).toBeLessThanOrEqual(missing.size)
    expect(sentAfter).toBeGreaterThanOrEqual(missing.size - UPLOAD_CONCURRENCY)
    expect(sentAfter).toBeLessThanOrEqual(total - killed.acked.size)
    const meta = await api.byPath('big.bin')
    expect(meta.size).toBe(SIZE)
    expect(meta.chunks.length).toBe(total)
    // And the file in the account is the right one.
    const out = join(e2e.root, 'downloaded.bin')
    await e2e.cliOk(['get', 'big.bin', out, '--dir', a.dir], 180_000)
    expect(await sha256File(out)).toBe(hash)
  }, 300_000)

  test('a downloader killed mid-file leaves no partial file under the real name', async () => {
    const real = join(b.dir, 'big.bin')
    const tmpDir = join(b.stateDir, 'tmp')
    const daemon = await e2e.startDaemon(b, { waitConnected: false })
    await waitFor(
      () => {
        if (existsSync(real)) throw new Error('the file arrived before the kill could land')
        return existsSync(tmpDir) && readdirSync(tmpDir).length > 0
      },
      { timeoutMs: 60_000, intervalMs: 5, what: 'B to start writing big.bin aside' },
    )
    await sleep(50)
    await daemon.kill('SIGKILL')
    // Mid-file: the bytes so far sit in a temp file; the real name has nothing.
    expect(existsSync(real)).toBe(false)
    expect(readdirSync(tmpDir).length).toBeGreaterThan(0)

    await e2e.startDaemon(b, { waitConnected: false })
    let sightings = 0
    await waitFor(
      () => {
        if (!existsSync(real)) return false
        sightings++
        // Whenever the name exists, it is the whole file.
        expect(statSync(real).size).toBe(SIZE)
        return true
      },
      { timeoutMs: 120_000, intervalMs: 5, what: 'big.bin on B after the restart' },
    )
    expect(sightings).toBe(1)
    expect(await sha256File(real)).toBe(hash)
    // The crashed run's temp file was cleaned up, and the write was recorded.
    const status = await freshStatus(b)
    expect(status.remote.written).toBe(1)
    await waitFor(() => readdirSync(tmpDir).length === 0, {
      timeoutMs: 10_000,
      what: 'no temp files left on B',
    })
  }, 300_000)
})
