import { describe, expect, it } from 'vitest'
import type { DaemonStatus } from '../../daemon/daemon.ts'
import type { InFlightFile } from '../../engine/in-flight-files.ts'
import { type StatusInputs, statusJson, statusLines } from '../status-view.ts'

const status: DaemonStatus = {
  pid: 4242,
  deviceId: 'dev-b',
  name: 'b',
  startedAt: '2026-12-03T10:00:00.000Z',
  updatedAt: '2026-12-03T10:05:00.000Z',
  connected: true,
  push: { live: true, since: '2026-12-03T10:00:01.000Z' },
  cursor: 783,
  head: { seq: 790, at: '2026-12-03T10:04:59.000Z' },
  pendingPaths: 0,
  pendingUploads: 0,
  problemCount: 2,
  problems: [
    {
      path: 'big.bin',
      kind: 'skipped',
      reason: 'ENOSPC: no space left on device, write',
      code: 'ENOSPC',
      since: '2026-12-03T10:01:00.000Z',
      lastAt: '2026-12-03T10:04:00.000Z',
      attempts: 3,
    },
    {
      path: 'edge/back\\slash.txt',
      kind: 'unsyncable',
      reason: 'its name cannot be synced: contains a backslash',
      since: '2026-12-03T10:01:00.000Z',
      lastAt: '2026-12-03T10:01:00.000Z',
      attempts: 1,
    },
  ],
  disk: { freeBytes: 1024, totalBytes: 50 * 1024 * 1024, fullPaths: 1 },
  faults: { count: 0 },
  devices: [],
  uploads: {},
  local: {},
  remote: {},
  sources: {},
  prefetch: {},
  addresses: [],
}

const inputs = (over: Partial<StatusInputs>): StatusInputs => ({
  device: { name: 'b', deviceId: 'dev-b' },
  coordinatorUrl: 'http://127.0.0.1:1',
  status,
  running: true,
  crash: undefined,
  devices: [{ name: 'b', deviceId: 'dev-b', online: true }],
  behind: { changes: 0, more: false },
  now: Date.parse('2026-12-03T10:05:01.000Z'),
  ...over,
})

const shown = (over: Partial<StatusInputs>) => statusLines(inputs(over)).join('\n')

describe('cloudsync status', () => {
  it('names every path it cannot sync, why, and a full disk', () => {
    const text = shown({})
    expect(text).toContain('problems 2 path(s) cannot be synced:')
    expect(text).toContain(
      '"big.bin" (remote change skipped, 3 attempt(s)): ENOSPC: no space left on device, write [ENOSPC]',
    )
    expect(text).toContain(
      '"edge/back\\\\slash.txt" (not synced): its name cannot be synced: contains a backslash',
    )
    expect(text).toContain('DISK FULL: 1 path(s) could not be written')
    expect(text).toContain('push     live since 2026-12-03T10:00:01.000Z')
  })

  it('says up to date, or how far behind, as the coordinator answers', () => {
    expect(shown({})).toContain('sync     up to date (cursor 783)')
    expect(shown({ behind: { changes: 7, more: false } })).toContain(
      'sync     behind by 7 change(s) (cursor 783)',
    )
    expect(shown({ behind: { changes: 100, more: true } })).toContain(
      'behind by more than 100 change(s)',
    )
    // Unreachable: what the daemon last saw of the log.
    expect(shown({ behind: undefined })).toContain(
      'behind by at least 7 change(s) (cursor 783; the coordinator is unreachable)',
    )
  })

  it('shows a push channel that is down, and why', () => {
    const down = { ...status, connected: false, push: { live: false, lastError: 'ECONNRESET' } }
    expect(shown({ status: down })).toContain('push     down, polling (last error: ECONNRESET)')
  })

  it('shows a crashed daemon and why, never a stale "live"', () => {
    const crash = {
      at: '2026-12-03T10:05:30.000Z',
      pid: 4242,
      reason: 'uncaught exception: Error: boom\n    at somewhere',
    }
    const text = shown({ running: false, crash, behind: { changes: 3, more: false } })
    expect(text).toContain(
      'daemon   not running: it crashed at 2026-12-03T10:05:30.000Z (pid 4242):',
    )
    expect(text).toContain('uncaught exception: Error: boom')
    expect(text).not.toContain('live')
    expect(text).toContain('behind by 3 change(s) (cursor 783 when the daemon last wrote)')
  })

  it('tells a clean stop from a daemon that died without a word', () => {
    expect(shown({ running: false, status: { ...status, stoppedAt: status.updatedAt } })).toContain(
      'daemon   not running (stopped at 2026-12-03T10:05:00.000Z)',
    )
    expect(shown({ running: false })).toContain(
      'daemon   not running: it died without a word (killed?) after 2026-12-03T10:05:00.000Z',
    )
    // A crash before this run started is history, not the reason it is down now.
    const old = { at: '2026-12-03T09:00:00.000Z', pid: 1, reason: 'old' }
    expect(shown({ running: false, crash: old })).toContain('died without a word')
  })

  it('counts the unexpected errors the daemon survived', () => {
    const faults = { count: 2, last: { at: '2026-12-03T10:03:00.000Z', error: 'Error: x' } }
    expect(shown({ status: { ...status, faults } })).toContain(
      'faults   2 unexpected error(s), the daemon went on; last at 2026-12-03T10:03:00.000Z:',
    )
  })

  it('lists the ignored paths with --verbose, bounded, and always a rules file not in force', () => {
    const ignored = { count: 102, paths: ['a.swp', '.DS_Store'] }
    expect(shown({ status: { ...status, ignored } })).not.toContain('a.swp')
    const verbose = shown({ status: { ...status, ignored }, verbose: true })
    expect(verbose).toContain('ignored  102 path(s) kept out of sync by the ignore rules:')
    expect(verbose).toContain('  "a.swp"\n  ".DS_Store"\n  ... and 100 more')
    const rulesError =
      '.cloudsyncignore: 300000 bytes, more than 262144; only the default rules apply'
    expect(
      shown({ status: { ...status, ignored: { count: 0, paths: [], rulesError } } }),
    ).toContain(`rules    ${rulesError}`)
  })
})

describe('files in flight', () => {
  it('shows who has each file and how much of the cloud copy is done', () => {
    const MiB = 1024 * 1024
    const text = shown({
      devices: [
        { name: 'b', deviceId: 'dev-b', online: true },
        { name: 'laptop', deviceId: 'dev-a', online: true },
      ],
      status: {
        ...status,
        inFlight: [
          {
            path: 'film.mkv',
            state: 'placed',
            uploader: 'dev-a',
            holders: ['dev-a', 'dev-b'],
            size: 128 * MiB,
          },
          {
            path: 'notes.txt',
            state: 'uploading',
            uploader: 'dev-b',
            holders: ['dev-b'],
            size: 8 * MiB,
            cloudBytes: 2 * MiB,
          },
        ],
      },
    })
    expect(text).toContain('in flight 2 file(s):')
    expect(text).toMatch(
      /"film\.mkv" .*placed ahead of its commit, from laptop; on laptop, b \(this\)/,
    )
    expect(text).toMatch(/"notes\.txt" .*uploading; on b \(this\); cloud copy .* \(25%\)/)
  })

  it('shows nothing in flight when nothing is', () => {
    expect(shown({})).not.toContain('in flight')
  })

  const MiB = 1024 * 1024
  const uploading = (over: Partial<InFlightFile>): InFlightFile => ({
    path: 'notes.txt',
    state: 'uploading',
    uploader: 'dev-b',
    holders: ['dev-b', 'dev-a'],
    size: 100 * MiB,
    cloudBytes: 25 * MiB,
    ...over,
  })
  const withFiles = (inFlight: InFlightFile[]) => ({
    devices: [
      { name: 'b', deviceId: 'dev-b', online: true },
      { name: 'laptop', deviceId: 'dev-a', online: true },
    ],
    status: { ...status, inFlight },
  })

  it('shows the recent cloud rate and the time left', () => {
    const text = shown(withFiles([uploading({ cloudBytesPerSecond: 2 * MiB, etaSeconds: 200 })]))
    expect(text).toContain(
      '"notes.txt" 100.0 MiB, uploading; on b (this), laptop; cloud copy 25.0 MiB of 100.0 MiB (25%), 2 MiB/s, ETA 3m 20s',
    )
  })

  it('says the ETA is unknown until a rate is measured, and none for a version placed here', () => {
    const text = shown(
      withFiles([
        uploading({}),
        {
          path: 'film.mkv',
          state: 'placed',
          uploader: 'dev-a',
          holders: ['dev-a', 'dev-b'],
          size: MiB,
        },
      ]),
    )
    expect(text).toMatch(/"notes\.txt" .*\(25%\), ETA unknown$/m)
    expect(text).toMatch(/"film\.mkv" .*cloud copy: laptop uploading \(progress unknown here\)$/m)
  })

  it('says a fully sent upload is completing rather than giving an ETA', () => {
    const text = shown(withFiles([uploading({ cloudBytes: 100 * MiB, etaSeconds: 0 })]))
    expect(text).toMatch(/\(100%\), sent, completing$/m)
  })

  it('gives the holders, cloud bytes and ETA in --json, and no ETA while it is unknown', () => {
    const known = uploading({ cloudBytesPerSecond: 2 * MiB, etaSeconds: 38 })
    const unknown = uploading({ path: 'other.txt' })
    const json = JSON.parse(
      statusJson({ ...inputs(withFiles([known, unknown])), running: true }),
    ) as { running: boolean; status: DaemonStatus }
    expect(json.running).toBe(true)
    const [first, second] = json.status.inFlight ?? []
    expect(first).toMatchObject({
      holders: ['dev-b', 'dev-a'],
      size: 100 * MiB,
      cloudBytes: 25 * MiB,
      cloudBytesPerSecond: 2 * MiB,
      etaSeconds: 38,
    })
    expect(second).toEqual(unknown)
    expect(second).not.toHaveProperty('etaSeconds')
  })
})
