/**
 * Scenario 4: a device of another account on the same machine dials account 1's daemon
 * with its own valid certificate and asks for chunks of a file account 1 has: it gets
 * `forbidden` for every id and not one byte. The same probe as a device of account 1 gets
 * the chunks, so the refusal is about the account, not the probe.
 */
import { randomBytes } from 'node:crypto'
import { rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { HttpCoordinator } from '../../adapters/http-coordinator.ts'
import { loadDeviceState } from '../../daemon/device-state.ts'
import { type Coordinator, type Device, E2E, freshStatus, waitFor } from './harness.ts'

const MiB = 1024 * 1024
const PROBE = join(import.meta.dirname, 'swarm-probe.ts')

let e2e: E2E
let coordinator: Coordinator
let a: Device
let sameAccount: Device
let stranger: Device
let ids: string[]
let target: string

interface ProbeResult {
  client: { id: string; bytes: number; error?: string }[]
  raw: { statuses: { id: string; status: string }[]; bodyBytes: number }
}

async function probe(device: Device): Promise<ProbeResult> {
  const proc = e2e.spawn(`probe-${device.name}`, PROBE, [device.dir, target, ...ids])
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 60_000)
  const { code } = await proc.exited
  clearTimeout(timer)
  const line = (name: string) => {
    const m = new RegExp(`^${name} (.*)$`, 'm').exec(proc.output)
    if (!m) throw new Error(`probe exited ${code} without a ${name} line:\n${proc.output}`)
    return JSON.parse(m[1]!)
  }
  return { client: line('client'), raw: line('raw') }
}

beforeAll(async () => {
  e2e = await E2E.create('accounts')
  coordinator = await e2e.startCoordinator()
  ;[a, sameAccount] = await e2e.account(coordinator, ['a', 'a2'])
  ;[stranger] = await e2e.account(coordinator, ['stranger'])
  await e2e.startDaemon(a)
  const aside = join(e2e.root, 'secret.bin')
  await writeFile(aside, randomBytes(6 * MiB))
  await rename(aside, join(a.dir, 'secret.bin'))
  await waitFor(
    async () => {
      const s = await freshStatus(a)
      return (s.local.uploaded ?? 0) >= 1 && s.pendingUploads === 0
    },
    { timeoutMs: 60_000, what: 'A to upload secret.bin' },
  )
  const state = await loadDeviceState(a.stateDir)
  const api = new HttpCoordinator({ baseUrl: coordinator.url, credential: state.credential })
  ids = (await api.byPath('secret.bin')).chunks.map((c) => c.id)
  target = (await freshStatus(a)).addresses[0]!
}, 120_000)

afterAll(async () => {
  await e2e?.cleanup()
})

describe('a device of another account', () => {
  test('gets forbidden for every chunk and no bytes', async () => {
    expect(ids.length).toBeGreaterThanOrEqual(1)
    const result = await probe(stranger)
    expect(result.client.map((r) => r.id).sort()).toEqual([...ids].sort())
    for (const r of result.client) {
      expect(r.error).toBe('FORBIDDEN')
      expect(r.bytes).toBe(0)
    }
    // Ignoring the responder's certificate does not help: A itself refuses every id.
    expect(result.raw.statuses.map((s) => s.id)).toEqual(ids)
    expect(new Set(result.raw.statuses.map((s) => s.status))).toEqual(new Set(['forbidden']))
    expect(result.raw.bodyBytes).toBe(0)
  }, 90_000)

  test('while a device of the same account gets the chunks with the same probe', async () => {
    const result = await probe(sameAccount)
    expect(result.client.every((r) => !r.error && r.bytes > 0)).toBe(true)
    expect(result.raw.statuses.every((s) => s.status === 'ok')).toBe(true)
    expect(result.raw.bodyBytes).toBeGreaterThanOrEqual(6 * MiB)
  }, 90_000)
})
