/**
 * Presence: a device is online while it has an open WebSocket on any coordinator instance.
 * This instance counts its own sockets per device and keeps one presence row per device it
 * holds (renewed on a heartbeat, so a killed instance's rows lapse); every connect and
 * disconnect publishes the account's device list on the bus as a `devices` message.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { DeviceInfo } from '../../protocol/schemas/devices.ts'
import type { AuthDevice } from '../plugins/auth.ts'
import { listDevices } from '../store/devices.ts'
import {
  dropInstance,
  markConnected,
  markDisconnected,
  onlineDeviceIds,
  renewInstance,
} from '../store/presence.ts'
import { toDeviceInfo } from './devices.ts'

/** A presence row outlives its last renewal by this long: how long a crashed instance's
 * devices still show online (at most one heartbeat more, until another instance sweeps
 * them and tells their accounts), and how long it stays in the list of instances. */
export const PRESENCE_LEASE_MS = 9_000
const HEARTBEAT_MS = PRESENCE_LEASE_MS / 3

interface Local {
  accountId: string
  sockets: number
  /** Writes of this device's row, one after another, so a quick open-close never ends
   * with the insert landing after the delete. */
  writes: Promise<void>
}

interface Reads {
  current: Promise<DeviceInfo[]>
  next?: Promise<DeviceInfo[]>
}

export class Presence {
  readonly instanceId = randomUUID()
  readonly #app: FastifyInstance
  readonly #local = new Map<string, Local>()
  /** Per account: the list read in flight, and one queued behind it (see `snapshot`). */
  readonly #reads = new Map<string, Reads>()
  #timer: NodeJS.Timeout | undefined
  #closing = false

  constructor(app: FastifyInstance) {
    this.#app = app
  }

  start(): void {
    this.#timer = setInterval(() => void this.renew(), HEARTBEAT_MS)
    this.#timer.unref()
  }

  /** Renews this instance's rows; the accounts of a dead instance's devices hear of it. */
  async renew(): Promise<void> {
    const now = this.#app.now()
    const expires = new Date(now.getTime() + PRESENCE_LEASE_MS)
    try {
      const lapsed = await renewInstance(this.#app.db, this.instanceId, now, expires, this.#url())
      await Promise.allSettled(lapsed.map((a) => this.announce(a)))
    } catch (err) {
      this.#app.log.warn({ err }, 'presence renewal failed')
    }
  }

  /** Where devices reach this instance: PUBLIC_URL, else a specific listen address. */
  #url(): string | undefined {
    if (this.#app.config.publicUrl) return this.#app.config.publicUrl
    const address = this.#app.server.address()
    if (!address || typeof address !== 'object') return undefined
    if (address.address === '0.0.0.0' || address.address === '::') return undefined
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
    return `http://${host}:${address.port}`
  }

  /** A socket of the device opened on this instance. */
  opened(device: AuthDevice): Promise<void> {
    return this.#change(device, +1)
  }

  /** A socket of the device closed on this instance. */
  closed(device: AuthDevice): Promise<void> {
    return this.#change(device, -1)
  }

  /** The account's devices as `GET /devices` and `devices` messages show them. */
  async list(accountId: string): Promise<DeviceInfo[]> {
    const now = this.#app.now()
    const [devices, online] = await Promise.all([
      listDevices(this.#app.db, accountId),
      onlineDeviceIds(this.#app.db, accountId, now),
    ])
    // A device without a peer id cannot be reached by peers; DeviceInfo needs one.
    return devices
      .filter((d): d is typeof d & { peerId: string } => !!d.peerId)
      .map((d) => toDeviceInfo(d, online.has(d.id)))
  }

  /**
   * A list read that starts after this call, shared by concurrent callers: each socket of
   * the account on this instance asks when a `devices` message arrives, and one read (plus
   * at most one queued) serves them all. Reading here rather than forwarding the published
   * list means two instances announcing at once can't leave a stale list last.
   */
  snapshot(accountId: string): Promise<DeviceInfo[]> {
    const reads = this.#reads.get(accountId)
    if (reads?.next) return reads.next
    const run = (): Promise<DeviceInfo[]> => {
      const current = this.list(accountId)
      const entry: Reads = { current }
      this.#reads.set(accountId, entry)
      const done = () => {
        if (this.#reads.get(accountId) === entry && !entry.next) this.#reads.delete(accountId)
      }
      current.then(done, done)
      return current
    }
    if (!reads) return run()
    const next = reads.current.then(run, run)
    reads.next = next
    return next
  }

  /** Tells every instance the account's devices changed (they re-read via `snapshot`). */
  async announce(accountId: string): Promise<void> {
    const devices = await this.list(accountId)
    this.#app.feed.publish(accountId, { type: 'devices', devices })
  }

  /** Shutting down: this instance's rows go, and their accounts hear of it. */
  async close(): Promise<void> {
    this.#closing = true
    clearInterval(this.#timer)
    await Promise.allSettled([...this.#local.values()].map((l) => l.writes))
    const accounts = await dropInstance(this.#app.db, this.instanceId)
    await Promise.allSettled(accounts.map((a) => this.announce(a)))
    this.#local.clear()
  }

  #change(device: AuthDevice, delta: 1 | -1): Promise<void> {
    if (this.#closing) return Promise.resolve()
    const { deviceId, accountId } = device
    const local = this.#local.get(deviceId) ?? {
      accountId,
      sockets: 0,
      writes: Promise.resolve(),
    }
    this.#local.set(deviceId, local)
    local.sockets += delta
    const write = async () => {
      if (this.#closing) return
      const now = this.#app.now()
      // The count when the write runs, not when it was queued: the row ends as it should.
      if (local.sockets > 0) {
        const expiresAt = new Date(now.getTime() + PRESENCE_LEASE_MS)
        await markConnected(this.#app.db, { deviceId, instanceId: this.instanceId, expiresAt, now })
      } else {
        await markDisconnected(this.#app.db, deviceId, this.instanceId, now)
        if (this.#local.get(deviceId) === local && local.sockets === 0) {
          this.#local.delete(deviceId)
        }
      }
      await this.announce(accountId)
    }
    local.writes = local.writes.then(write).catch((err) => {
      this.#app.log.warn({ err, deviceId }, 'presence update failed')
    })
    return local.writes
  }
}
