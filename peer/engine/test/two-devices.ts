/**
 * Two (or more) devices of one account running the real sync engine in this process: an
 * in-memory folder each, a SQLite index in memory, and a real coordinator over HTTP and
 * WebSocket. Fast enough to test the sync rules one by one.
 */
import { createHash } from 'node:crypto'
import { CloudsyncError } from '../../../protocol/errors.ts'
import { ChunkPipeline } from '../../../protocol/pipeline/encode.ts'
import type { HttpCoordinator } from '../../adapters/http-coordinator.ts'
import { MemoryFileSystem } from '../../adapters/memory-fs.ts'
import { newAccount, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { WebSocketPush } from '../../adapters/ws-push.ts'
import { type ChunkSource, getEach } from '../../chunk-sources/chunk-source.ts'
import { cloudSource } from '../../chunk-sources/cloud-source.ts'
import { localChunkSource, ownChunkProvider } from '../../chunk-sources/local-source.ts'
import { syncIndexOf } from '../../daemon/index-port.ts'
import { LocalIndex } from '../../local-index/local-index.ts'
import { systemClock } from '../../ports/clock.ts'
import type { SyncIndex } from '../../ports/sync-index.ts'
import { withRetry } from '../../retry.ts'
import type { PauseGate } from '../pause-gate.ts'
import { SyncEngine } from '../sync-engine.ts'

export interface Device {
  name: string
  deviceId: string
  /** The account's secret, for tests that build engine parts of their own. */
  secret: Uint8Array
  fs: MemoryFileSystem
  engine: SyncEngine
  index: SyncIndex
  /** The device's own coordinator client, for tests that act on the account directly. */
  api: HttpCoordinator
  /** Stops the engine (the folder and index stay) and starts a fresh one on them. */
  restart(): Promise<void>
  stop(): Promise<void>
}

export interface DeviceOptions {
  /** Give each device a swarm: an in-process bridge to the other devices' chunk providers. */
  swarm?: boolean
  /**
   * Slows each chunk PUT, so an upload stays in flight long enough to be seen; a list gives
   * each device its own.
   */
  putDelayMs?: number | number[]
  /** Collects every ciphertext the devices PUT, as handed to the coordinator client. */
  putBodies?: Uint8Array[]
  /** Uploads of these paths are refused at init, as a coordinator would refuse bad input. */
  refuseUploads?: (path: string) => boolean
  /** Told of every chunk GET a device makes from the cloud (its presigned URL). */
  onCloudFetch?: (device: number, url: string) => void
  /** Changes behind the head beyond which a device starts from a snapshot. */
  snapshotBehind?: number
  /** Pause gates, by device. */
  gates?: PauseGate[]
}

export async function devicesOf(
  t: TestCoordinator,
  count: number,
  options: DeviceOptions = {},
): Promise<Device[]> {
  const account = await newAccount(t, count)
  const providers: ((id: string) => Promise<Uint8Array | undefined>)[] = []
  const devices = account.devices.map(({ linked, api: realApi }, i) => {
    const fs = new MemoryFileSystem()
    const localIndex = new LocalIndex(':memory:')
    const index = syncIndexOf(localIndex, Date.now)
    const pipeline = new ChunkPipeline({ secret: account.secret, workers: 0 })
    const delays = options.putDelayMs ?? 0
    const delay = Array.isArray(delays) ? (delays[i] ?? 0) : delays
    const refuse = options.refuseUploads
    const bodies = options.putBodies
    const fetched = options.onCloudFetch
    // A Proxy, not a prototype: the client's #private members need the real instance as `this`.
    const api: typeof realApi =
      delay || refuse || bodies || fetched
        ? new Proxy(realApi, {
            get(target, prop) {
              if (prop === 'putChunk' && (delay || bodies)) {
                return async (...args: Parameters<typeof realApi.putChunk>) => {
                  bodies?.push(args[1])
                  // Abortable, as a real PUT is: a stopped device does not wait it out.
                  await new Promise<void>((resolve, reject) => {
                    const timer = setTimeout(resolve, delay)
                    args[2]?.addEventListener('abort', () => {
                      clearTimeout(timer)
                      reject(args[2]!.reason)
                    })
                  })
                  return target.putChunk(...args)
                }
              }
              if (prop === 'fetchChunk' && fetched) {
                return async (...args: Parameters<typeof realApi.fetchChunk>) => {
                  fetched(i, args[0])
                  return target.fetchChunk(...args)
                }
              }
              if (prop === 'initUpload' && refuse) {
                return async (...args: Parameters<typeof realApi.initUpload>) => {
                  if (refuse(args[0].path))
                    throw new CloudsyncError('INVALID_INPUT', `refused: ${args[0].path}`)
                  return target.initUpload(...args)
                }
              }
              const value = Reflect.get(target, prop, target)
              return typeof value === 'function' ? value.bind(target) : value
            },
          })
        : realApi
    const own = ownChunkProvider({ index: localIndex, fs, secret: account.secret })
    // A copy, as crossing a real network makes: what a source hands out is the caller's.
    providers[i] = async (id) => {
      const bytes = (await own.read(id)) ?? (await device.engine.uploader.uploads.read(id))
      return bytes && new Uint8Array(bytes)
    }
    const bridge = async (id: string) => {
      for (const [j, read] of providers.entries()) {
        const bytes = j === i ? undefined : await read(id)
        // A copy, as a network makes: the taker may release what it gets (ChunkSource), and
        // the sender may still be using its bytes (a ciphertext shared with its cloud PUT).
        if (bytes) return new Uint8Array(bytes)
      }
      throw new CloudsyncError('NOT_FOUND', `no peer has ${id}`)
    }
    const swarm: ChunkSource = {
      name: 'swarm',
      get: bridge,
      getMany: (ids, o) => getEach(bridge, ids, o),
    }
    const make = () =>
      new SyncEngine({
        fs,
        watcher: fs.watcher(),
        api,
        ...(options.swarm && {
          swarmSource: swarm,
          peersMayPull: () => true,
          deviceId: linked.deviceId,
        }),
        push: new WebSocketPush({ baseUrl: t.url, credential: linked.credential }),
        index,
        clock: systemClock,
        secret: account.secret,
        pipeline,
        localSource: localChunkSource({ index: localIndex, fs, secret: account.secret }),
        cloudSourceFor: (change) => cloudSource(api, change.fileId, change.version),
        deviceName: `device-${i}`,
        retry: (call) => withRetry(call, { attempts: 5, baseMs: 20, maxMs: 200 }),
        pollWaitSeconds: 1,
        ...(options.snapshotBehind !== undefined && { snapshotBehind: options.snapshotBehind }),
        ...(options.gates?.[i] && { gate: options.gates[i] }),
      })
    const device: Device = {
      name: `device-${i}`,
      deviceId: linked.deviceId,
      secret: account.secret,
      fs,
      index,
      api: realApi,
      engine: make(),
      async restart() {
        await device.engine.stop()
        device.engine = make()
        await device.engine.start()
      },
      stop: () => device.engine.stop(),
    }
    return device
  })
  return devices
}

export const text = (s: string) => new TextEncoder().encode(s)
export const hash = (b: Uint8Array | undefined) =>
  b ? createHash('sha256').update(b).digest('hex') : 'absent'

/** Polls until `check` passes (it throws or returns false until then), at most `ms`. */
export async function eventually(
  check: () => unknown | Promise<unknown>,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      if ((await check()) !== false) return
    } catch (err) {
      if (Date.now() > deadline) throw err
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${ms} ms: ${check.toString()}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Every path and content hash of a folder, for comparing devices. */
export async function snapshot(fs: MemoryFileSystem): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for await (const { path } of fs.list()) out[path] = hash(fs.readFile(path))
  return out
}
