/**
 * `cloudsync pause`, `resume` and `limits` against real daemons: set while the daemon is
 * stopped (saved for its start), kept across a restart, and changed while it runs.
 */
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Coordinator, type Device, E2E, readStatus, sleep, waitFor } from './harness.ts'

let e2e: E2E
let coordinator: Coordinator
let a: Device
let b: Device

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

beforeAll(async () => {
  e2e = await E2E.create('pause')
  coordinator = await e2e.startCoordinator()
  ;[a, b] = await e2e.account(coordinator, ['a', 'b'])
  await e2e.startDaemon(a)
}, 120_000)

afterAll(async () => {
  await e2e?.cleanup()
})

describe('pause, resume and limits from the command line', () => {
  test('a bad rate is refused with exit 2 and changes nothing', async () => {
    const r = await e2e.cli(['limits', '--dir', b.dir, '--cloud-up', '5M', '--lan-down', 'fast'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('"fast" is not a rate')
    expect(await exists(join(b.stateDir, 'settings.json'))).toBe(false)
  })

  test('set while the daemon is stopped, they hold when it starts', async () => {
    const limits = await e2e.cli([
      'limits',
      '--dir',
      b.dir,
      '--cloud-up',
      '5M',
      '--lan-down',
      '500k',
    ])
    expect(limits.code).toBe(0)
    expect(limits.stderr).toContain('saved for its next start')
    expect(limits.stdout).toMatch(/cloud upload\s+5 MiB\/s/)
    expect(limits.stdout).toMatch(/LAN download\s+500 KiB\/s/)
    expect(await e2e.cliOk(['pause', '--dir', b.dir])).toBe('paused')

    await writeFile(join(a.dir, 'early.txt'), 'before B started\n')
    await e2e.startDaemon(b)
    const status = await waitFor(
      async () => {
        const s = await readStatus(b)
        return s && (s.behind ?? 0) > 0 && s
      },
      { timeoutMs: 30_000, what: 'B to learn of the change it must not apply' },
    )
    expect(status.paused).toBe(true)
    expect(status.limits).toMatchObject({ cloudUp: 5 * 1024 * 1024, lanDown: 500 * 1024 })
    // Well past the time B takes to apply a change when it runs.
    await sleep(1_000)
    expect(await exists(join(b.dir, 'early.txt'))).toBe(false)
    expect(await e2e.cliOk(['status', '--dir', b.dir])).toMatch(/sync\s+PAUSED/)
  })

  test('resume and new limits reach the running daemon at once', async () => {
    expect(await e2e.cliOk(['resume', '--dir', b.dir])).toBe('resumed')
    await waitFor(() => exists(join(b.dir, 'early.txt')), {
      timeoutMs: 30_000,
      what: 'early.txt on B after resume',
    })
    expect(await readFile(join(b.dir, 'early.txt'), 'utf8')).toBe('before B started\n')
    expect(await e2e.cliOk(['limits', '--dir', b.dir, '--cloud-up', '0'])).toMatch(
      /cloud upload\s+unlimited/,
    )
    await waitFor(async () => (await readStatus(b))?.limits?.cloudUp === 0, {
      timeoutMs: 10_000,
      what: 'the running daemon to take the limit',
    })
    const saved = JSON.parse(await readFile(join(b.stateDir, 'settings.json'), 'utf8'))
    expect(saved).toMatchObject({ paused: false, limits: { cloudUp: 0, lanDown: 500 * 1024 } })
  })

  test('a pause survives a restart of the daemon', async () => {
    expect(await e2e.cliOk(['pause', '--dir', b.dir])).toBe('paused')
    await e2e.stopDaemon(b)
    await e2e.startDaemon(b)
    expect((await readStatus(b))?.paused).toBe(true)
    expect(await e2e.cliOk(['resume', '--dir', b.dir])).toBe('resumed')
  })
})
