/**
 * Issue 18 (docs/LAN-FIRST.md): the uploader is killed mid-upload after a LAN device has
 * the whole file. The cloud copy is held back (the coordinator's blob URLs go through a
 * gate that holds every connection), so only the LAN can carry the file: B places it
 * ahead of the commit, A is killed -9, the gate opens, and B finishes A's upload session.
 * The file is committed once, as A's, and no device has a conflict copy.
 */
import { randomBytes } from 'node:crypto'
import { rename, writeFile } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { isCloudsyncError } from '../../../protocol/errors.ts'
import { HttpCoordinator } from '../../adapters/http-coordinator.ts'
import { loadDeviceState } from '../../daemon/device-state.ts'
import { type Coordinator, type Device, E2E, sha256File, waitFor, waitForTrees } from './harness.ts'

const MiB = 1024 * 1024

/** A TCP forwarder that holds every connection until it is opened. */
class Gate {
  readonly server: Server
  target = 0
  #open = false
  readonly #held: (() => void)[] = []
  readonly #sockets = new Set<Socket>()

  constructor() {
    this.server = createServer((client) => {
      this.#track(client)
      client.pause()
      const forward = () => {
        const upstream = this.#track(connect(this.target, '127.0.0.1'))
        client.pipe(upstream).pipe(client)
        client.on('close', () => upstream.destroy())
        upstream.on('close', () => client.destroy())
        client.resume()
      }
      if (this.#open) forward()
      else this.#held.push(forward)
    })
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    return (this.server.address() as { port: number }).port
  }

  open(): void {
    this.#open = true
    for (const forward of this.#held.splice(0)) forward()
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise((resolve) => this.server.close(resolve))
  }

  #track(socket: Socket): Socket {
    this.#sockets.add(socket)
    socket.on('error', () => socket.destroy())
    socket.on('close', () => this.#sockets.delete(socket))
    return socket
  }
}

let e2e: E2E
let gate: Gate
let coordinator: Coordinator
let a: Device
let b: Device

beforeAll(async () => {
  e2e = await E2E.create('lan-takeover')
  gate = new Gate()
  const port = await gate.listen()
  coordinator = await e2e.startCoordinator({
    env: { PUBLIC_URL: `http://127.0.0.1:${port}` },
    startTimeoutMs: 180_000,
  })
  gate.target = coordinator.port
  ;[a, b] = await e2e.account(coordinator, ['a', 'b'])
  for (const d of [a, b]) await e2e.startDaemon(d)
}, 300_000)

afterAll(async () => {
  await e2e?.cleanup()
  await gate?.close()
})

describe('the uploader killed after a LAN device has the whole file', () => {
  test('the LAN device finishes the upload: committed once, as the uploader, no conflict copy', async () => {
    const aside = join(e2e.root, 'film.bin')
    await writeFile(aside, randomBytes(24 * MiB))
    const hash = await sha256File(aside)
    await rename(aside, join(a.dir, 'film.bin'))

    // B has it from A over the LAN while no byte can reach the cloud.
    await waitFor(
      async () => (await sha256File(join(b.dir, 'film.bin')).catch(() => '')) === hash,
      { timeoutMs: 120_000, intervalMs: 100, what: 'B to place film.bin ahead of its commit' },
    )
    const stateB = await loadDeviceState(b.stateDir)
    const stateA = await loadDeviceState(a.stateDir)
    const api = new HttpCoordinator({ baseUrl: coordinator.url, credential: stateB.credential })
    const before = await api.byPath('film.bin').catch((err) => err)
    expect(isCloudsyncError(before, 'NOT_FOUND')).toBe(true)

    await e2e.stopDaemon(a, 'SIGKILL')
    gate.open()

    const meta = await waitFor(() => api.byPath('film.bin').catch(() => undefined), {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: 'film.bin committed',
    })
    // A's commit (its device, version 1), made by B from its own copy.
    expect(meta).toMatchObject({ version: 1, deviceId: stateA.deviceId })
    expect(meta.hash).toBeTruthy()

    // A, back, resumes its checkpoint: the session is committed, nothing is sent twice.
    await e2e.startDaemon(a)
    await waitForTrees([a, b], new Map([['film.bin', hash]]), 120_000)
    const { changes } = await api.changes(0)
    expect(changes.map((c) => [c.kind, c.path, c.version])).toEqual([['created', 'film.bin', 1]])
  }, 420_000)
})
