/**
 * A simulated device: the real SyncEngine on an in-memory folder and a SQLite index in
 * memory, talking to the coordinator through the simulated network. A crash abandons the
 * engine where it stands: every port of that incarnation stops answering (file system,
 * network and sleeps hang; the index refuses), so nothing it had not written durably
 * survives, and a restart runs a fresh engine on the same folder and index.
 */
import {
  type Clock,
  cloudSource,
  type FileStat,
  HttpCoordinator,
  LocalIndex,
  localChunkSource,
  MemoryFileSystem,
  SyncEngine,
  type SyncFileSystem,
  type SyncIndex,
  syncIndexOf,
  type TempFile,
  withRetry,
} from '../../peer/index.ts'
import { ChunkPipeline } from '../../protocol/pipeline/encode.ts'
import type { VirtualClock } from './clock.ts'
import { COORDINATOR_URL, type LinkedDevice, type SimCoordinator } from './coordinator.ts'
import { CALL_TIMEOUT_MS, type SimNetwork } from './network.ts'
import { simPush } from './push.ts'
import type { Rng } from './rng.ts'

/** Small chunks, so a few KiB make a file of several. */
export const SIM_CHUNKING = { minSize: 256, avgSize: 1024, maxSize: 4096 }

export interface DeviceInit {
  linked: LinkedDevice
  secret: Uint8Array
  clock: VirtualClock
  network: SimNetwork
  coordinator: SimCoordinator
  rng: Rng
  /** Told of what the engine logs, and of broken invariants seen at the ports. */
  log: (device: string, message: string) => void
  violation: (message: string) => void
  /** Wraps the engine's ports (a deliberately broken engine, in tests). */
  tamper?: (deps: ConstructorParameters<typeof SyncEngine>[0]) => void
}

const hang = () => new Promise<never>(() => {})

export class SimDevice {
  readonly name: string
  readonly fs: MemoryFileSystem
  readonly index: LocalIndex
  engine: SyncEngine | undefined
  readonly #init: DeviceInit
  #life = { alive: false }
  /** The cursor as the index last held it: every move is by one, or to a snapshot. */
  #lastCursor = 0

  constructor(init: DeviceInit) {
    this.#init = init
    this.name = init.linked.name
    this.fs = new MemoryFileSystem({ clock: init.clock })
    this.index = new LocalIndex(':memory:')
  }

  get up(): boolean {
    return this.#life.alive
  }

  /** Starts a new incarnation of the engine; its start runs on in virtual time. */
  start(): void {
    if (this.#life.alive) return
    const life = { alive: true }
    this.#life = life
    const { clock: virtual, network, coordinator, secret, linked } = this.#init
    const alive = () => life.alive
    const clock: Clock = virtual.clockFor(alive)
    const api = new HttpCoordinator({
      baseUrl: COORDINATOR_URL,
      credential: linked.credential,
      timeoutMs: CALL_TIMEOUT_MS,
      chunkTimeoutMs: CALL_TIMEOUT_MS,
      transport: network.transport(this.name, alive),
    })
    const fs = gatedFs(this.fs, alive)
    const index = this.#gatedIndex(syncIndexOf(this.index, clock.now), alive)
    const random = this.#init.rng.fork()
    const deps: ConstructorParameters<typeof SyncEngine>[0] = {
      fs,
      watcher: this.fs.watcher(),
      api,
      push: simPush({
        device: this.name,
        credential: linked.credential,
        clock: virtual,
        network,
        coordinator,
        alive,
      }),
      index,
      clock,
      secret,
      pipeline: new ChunkPipeline({ secret, workers: 0, chunking: SIM_CHUNKING }),
      localSource: localChunkSource({ index: this.index, fs, secret }),
      cloudSourceFor: (change) =>
        cloudSource(api, change.fileId, change.version, { now: clock.now }),
      retry: (call) =>
        withRetry(call, {
          attempts: 4,
          baseMs: 100,
          maxMs: 2_000,
          clock,
          random: () => random.next(),
        }),
      log: (level, message, fields) => {
        if (life.alive)
          this.#init.log(this.name, `${level}: ${message} ${JSON.stringify(fields ?? {})}`)
      },
      deviceName: this.name,
      rescanIntervalMs: 5_000,
      pollWaitSeconds: 0,
    }
    this.#init.tamper?.(deps)
    const engine = new SyncEngine(deps)
    this.engine = engine
    void engine.start().catch((err: unknown) => {
      if (life.alive) this.#init.violation(`${this.name}: engine failed to start: ${String(err)}`)
    })
  }

  /** The process dies: nothing more of this incarnation happens. */
  crash(): void {
    if (!this.#life.alive) return
    this.#life.alive = false
    // The kernel drops the process's watches and sockets with it.
    void this.engine?.stop().catch(() => {})
    this.#init.network.breakChannels(this.name)
  }

  #gatedIndex(index: SyncIndex, alive: () => boolean): SyncIndex {
    const gated = {} as SyncIndex
    for (const key of Object.keys(index) as (keyof SyncIndex)[]) {
      const fn = index[key] as (...args: unknown[]) => unknown
      ;(gated as unknown as Record<string, unknown>)[key] = (...args: unknown[]) => {
        if (!alive()) throw new Error('device crashed')
        return fn(...args)
      }
    }
    gated.setCursor = (cursor) => {
      if (!alive()) throw new Error('device crashed')
      const before = index.getCursor()
      if (before !== this.#lastCursor)
        this.#init.violation(`${this.name}: cursor ${this.#lastCursor} became ${before} unseen`)
      // By one change at a time, or to the cursor of a snapshot the engine just applied.
      if (cursor !== before + 1 && cursor !== this.engine?.remote.snapshotAt)
        this.#init.violation(`${this.name}: cursor moved from ${before} to ${cursor}`)
      index.setCursor(cursor)
      this.#lastCursor = cursor
    }
    return gated
  }
}

/** The folder as one incarnation sees it: once it is dead, its calls never return. */
function gatedFs(fs: MemoryFileSystem, alive: () => boolean): SyncFileSystem {
  const gate = async <T>(call: () => Promise<T>): Promise<T> => {
    if (!alive()) return hang()
    const result = await call()
    if (!alive()) return hang()
    return result
  }
  const gatedTemp = (temp: TempFile): TempFile => ({
    write: (bytes, position) => gate(() => temp.write(bytes, position)),
    read: (offset, length) => gate(() => temp.read(offset, length)),
    commit: (path, expected) => gate(() => temp.commit(path, expected)),
    discard: () => gate(() => temp.discard()),
  })
  return {
    stat: (path) => gate(() => fs.stat(path)),
    async *list(options) {
      if (!alive()) await hang()
      for await (const entry of fs.list(options)) {
        if (!alive()) await hang()
        yield entry
      }
    },
    whyUnsyncable: (path) => gate(() => fs.whyUnsyncable(path)),
    openRead: (path) => gate(() => fs.openRead(path)),
    createTemp: (size) => gate(async () => gatedTemp(await fs.createTemp(size))),
    remove: (path, expected?: FileStat) => gate(() => fs.remove(path, expected)),
    rename: (from, to, expected?: FileStat) => gate(() => fs.rename(from, to, expected)),
    removeFolder: (path) => gate(() => fs.removeFolder(path)),
  }
}
