/**
 * Unlinking a device takes it off the swarm (issue 15, section 1), with real processes: a
 * device of the account fetches a chunk from A's daemon, is unlinked with
 * `DELETE /devices/{id}`, and from then on A refuses it within seconds, on the stream and
 * the connection it opened before the unlink as well as on new streams.
 */
import { randomBytes } from 'node:crypto'
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { HttpCoordinator } from '../../adapters/http-coordinator.ts'
import { loadDeviceState } from '../../daemon/device-state.ts'
import { type Coordinator, type Device, E2E, freshStatus, waitFor } from './harness.ts'

const PROBE = join(import.meta.dirname, 'unlinked-probe.ts')

let e2e: E2E
let coordinator: Coordinator
let a: Device
let leaver: Device
let chunkId: string
let target: string

beforeAll(async () => {
  e2e = await E2E.create('unlinked')
  coordinator = await e2e.startCoordinator()
  ;[a, leaver] = await e2e.account(coordinator, ['a', 'leaver'])
  await e2e.startDaemon(a)
  const aside = join(e2e.root, 'kept.bin')
  await writeFile(aside, randomBytes(2 * 1024 * 1024))
  await rename(aside, join(a.dir, 'kept.bin'))
  await waitFor(
    async () => {
      const s = await freshStatus(a)
      return (s.local.uploaded ?? 0) >= 1 && s.pendingUploads === 0
    },
    { timeoutMs: 60_000, what: 'A to upload kept.bin' },
  )
  const state = await loadDeviceState(a.stateDir)
  const api = new HttpCoordinator({ baseUrl: coordinator.url, credential: state.credential })
  chunkId = (await api.byPath('kept.bin')).chunks[0]!.id
  target = (await freshStatus(a)).addresses[0]!
}, 120_000)

afterAll(async () => {
  await e2e?.cleanup()
})

describe('an unlinked device', () => {
  test('is refused by the swarm within seconds, on the connection it opened before', async () => {
    const go = join(e2e.root, 'go')
    const probe = e2e.spawn('probe-leaver', PROBE, [leaver.dir, target, go, chunkId])
    const before = JSON.parse((await probe.waitForOutput(/^before (.*)$/m, 60_000))[1]!)
    expect(before).toMatchObject({ status: 'ok' })
    expect(before.bodyBytes).toBeGreaterThan(0)

    const aState = await loadDeviceState(a.stateDir)
    const leaverState = await loadDeviceState(leaver.stateDir)
    const res = await fetch(`${coordinator.url}/devices/${leaverState.deviceId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${aState.credential}` },
    })
    expect(res.status).toBe(204)
    await writeFile(go, '')

    const after = JSON.parse((await probe.waitForOutput(/^after (.*)$/m, 60_000))[1]!)
    expect(after, 'still served 20 s after the unlink').not.toBeNull()
    process.stderr.write(
      `unlinked device refused ${after.ms} ms after the unlink: ${JSON.stringify(after)}\n`,
    )
    expect(after.ms).toBeLessThan(5_000)
    expect(after.held.bodyBytes).toBe(0)
    expect(after.fresh.bodyBytes).toBe(0)
    await probe.exited
  }, 120_000)
})
