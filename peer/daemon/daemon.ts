import { rename, statfs, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startBufferCollector } from '../../protocol/memory/buffer-collector.ts'
import { ChunkPipeline } from '../../protocol/pipeline/encode.ts'
import type { DeviceInfo } from '../../protocol/schemas/devices.ts'
import type { ServerMessage } from '../../protocol/schemas/ws.ts'
import { ChokidarWatcher } from '../adapters/chokidar-watcher.ts'
import { CoordinatorEndpoints } from '../adapters/endpoints.ts'
import { HttpCoordinator } from '../adapters/http-coordinator.ts'
import { NodeFileSystem } from '../adapters/node-fs.ts'
import { WebSocketPush } from '../adapters/ws-push.ts'
import { cloudSource } from '../chunk-sources/cloud-source.ts'
import { localChunkSource, ownChunkProvider } from '../chunk-sources/local-source.ts'
import { firstProvider } from '../chunk-sources/served-chunks.ts'
import { inFlightFiles } from '../engine/in-flight-files.ts'
import { type Log, SyncEngine } from '../engine/sync-engine.ts'
import { LocalIndex } from '../local-index/local-index.ts'
import { systemClock } from '../ports/clock.ts'
import { withRetry } from '../retry.ts'
import {
  chunkStreamOpener,
  closeConnectionsTo,
  createSwarmNode,
  decodeNodeKey,
  LinkedPeers,
  nodeAddresses,
  type SwarmIdentity,
  type SwarmNode,
  SwarmSource,
} from '../swarm/index.ts'
import { CertificateRenewal } from './certificate-renewal.ts'
import { DeviceControls } from './controls.ts'
import { type DeviceState, loadDeviceState, secretOf } from './device-state.ts'
import { watchCoordinators } from './failover.ts'
import { syncIndexOf } from './index-port.ts'
import { describeError } from './process-guard.ts'
import { type DaemonStatus, STATUS_FILE, STATUS_PROBLEMS_MAX } from './status-file.ts'

export type { DaemonStatus, StatusProblem } from './status-file.ts'

/** How often a hello from a device missing from the list may trigger asking for it again. */
const UNKNOWN_PEER_REFRESH_MS = 5_000

export interface DaemonOptions {
  /** The synced folder. */
  root: string
  /** Device state; default `<root>/.cloudsync`. */
  stateDir?: string
  /** libp2p listen addresses; default all interfaces on a free port. */
  listen?: string[]
  /** Coordinator URLs that come before the device's own (configuration: the first is home). */
  coordinators?: string[]
  /** How often home is probed while the device is on another instance (failover.ts). */
  homeProbeMs?: number
  /** LAN discovery by multicast (leaves the machine: never in tests outside namespaces). */
  mdns?: boolean
  log?: Log
  /** How often the status file is rewritten. */
  statusIntervalMs?: number
  rescanIntervalMs?: number
}

/**
 * A running device: the sync engine on the real folder (node:fs, chokidar), the
 * coordinator over HTTP and WebSocket, and the libp2p swarm serving this device's own
 * chunks and fetching from the account's other devices.
 */
export class Daemon {
  readonly engine: SyncEngine
  /** Pause and resume, rate limits: saved in the state dir. */
  readonly controls: DeviceControls
  readonly node: SwarmNode
  readonly swarm: SwarmSource
  readonly state: DeviceState
  readonly stateDir: string
  readonly #root: string
  readonly #index: LocalIndex
  readonly #pipeline: ChunkPipeline
  readonly #api: HttpCoordinator
  readonly #timer: NodeJS.Timeout
  #stopFailover: () => void = () => {}
  readonly #startedAt = Date.now()
  #peers: DeviceInfo[] = []
  #disk: { freeBytes: number; totalBytes: number } | undefined
  #stoppedAt: number | undefined
  readonly #faults: { count: number; last?: { at: string; error: string } } = { count: 0 }
  readonly #linked: LinkedPeers
  readonly #renewal: CertificateRenewal
  readonly #stopCollector: () => void

  private constructor(parts: {
    engine: SyncEngine
    node: SwarmNode
    swarm: SwarmSource
    linked: LinkedPeers
    identity: SwarmIdentity
    log: Log
    state: DeviceState
    stateDir: string
    root: string
    index: LocalIndex
    pipeline: ChunkPipeline
    api: HttpCoordinator
    statusIntervalMs: number
    controls: DeviceControls
  }) {
    this.engine = parts.engine
    this.controls = parts.controls
    // `status` shows a pause or a resume at once, not at the next rewrite.
    parts.controls.gate.onChange(() => void this.writeStatus())
    this.node = parts.node
    this.swarm = parts.swarm
    this.#linked = parts.linked
    this.#renewal = new CertificateRenewal({
      identity: parts.identity,
      state: parts.state,
      stateDir: parts.stateDir,
      renew: () => parts.api.renewCertificate(),
      log: parts.log,
    })
    this.state = parts.state
    this.stateDir = parts.stateDir
    this.#root = parts.root
    this.#index = parts.index
    this.#pipeline = parts.pipeline
    this.#api = parts.api
    this.#timer = setInterval(() => void this.writeStatus(), parts.statusIntervalMs)
    this.#timer.unref()
    this.#stopCollector = startBufferCollector()
  }

  static async start(options: DaemonOptions): Promise<Daemon> {
    const stateDir = options.stateDir ?? join(options.root, '.cloudsync')
    const log = options.log ?? (() => {})
    const state = await loadDeviceState(stateDir)
    const secret = secretOf(state)
    const controls = await DeviceControls.load(stateDir)
    const { limits } = controls
    const fs = await NodeFileSystem.open({ root: options.root, stateDir })
    // Temp files of a run that crashed mid-write: never under a real name, now just litter.
    await fs.removeLeftoverTemps()
    const localIndex = new LocalIndex(join(stateDir, 'index.db'))
    const index = syncIndexOf(localIndex, () => Date.now())
    // Home first, then the instances it was given; GET /coordinators adds the rest.
    const endpoints = new CoordinatorEndpoints([
      ...(options.coordinators ?? []),
      state.coordinatorUrl,
      ...(state.coordinatorUrls ?? []),
    ])
    const api = new HttpCoordinator({
      endpoints,
      credential: state.credential,
      pace: { up: limits.cloudUp.take, down: limits.cloudDown.take },
    })
    const push = new WebSocketPush({ endpoints, credential: state.credential })
    // Refreshed at most every few seconds when a device we have not heard of says hello.
    let lastRefresh = 0
    const linked = new LinkedPeers(() => {
      if (Date.now() - lastRefresh < UNKNOWN_PEER_REFRESH_MS) return
      lastRefresh = Date.now()
      void daemon?.refreshPeers().catch(() => {})
    })
    const identity: SwarmIdentity = {
      certificate: state.certificate,
      coordinatorKey: state.coordinatorKey,
      admits: (payload) => linked.admits(payload),
    }
    let daemon: Daemon | undefined
    const ownFiles = ownChunkProvider({ index: localIndex, fs, secret })
    // Peers get chunks from this device's synced files, from a file it is uploading right
    // now (streaming sync), or from what it prefetched itself. A paused device serves
    // nothing: its peers go to the cloud instead.
    const ownOrStaged = firstProvider([
      ownFiles,
      { read: async (id) => daemon?.engine.serving.read(id) },
    ])
    const served = {
      read: async (id: string) => (controls.paused ? undefined : ownOrStaged.read(id)),
    }
    const node = await createSwarmNode({
      privateKey: decodeNodeKey(Buffer.from(state.nodeKey, 'base64')),
      listen: options.listen ?? ['/ip4/0.0.0.0/tcp/0'],
      chunks: { identity, provider: served, pace: limits.lanUp.take },
      mdns: options.mdns ? {} : false,
    })
    const swarm = new SwarmSource({
      identity,
      openStream: chunkStreamOpener(node),
      pace: limits.lanDown.take,
    })
    const pipeline = new ChunkPipeline({ secret })
    const retry = <T>(call: () => Promise<T>) =>
      withRetry(call, {
        attempts: 8,
        baseMs: 250,
        maxMs: 15_000,
        onRetry: (err, attempt) =>
          log('warn', 'retrying a coordinator call', { attempt, error: (err as Error).message }),
      })
    const engine = new SyncEngine({
      fs,
      watcher: new ChokidarWatcher({ root: options.root, stateDir }),
      api,
      push,
      index,
      clock: systemClock,
      secret,
      pipeline,
      localSource: localChunkSource({ index: localIndex, fs, secret }),
      swarmSource: swarm,
      peersMayPull: () => swarm.peers.length > 0,
      deviceId: state.deviceId,
      deviceName: state.name,
      cloudSourceFor: (change) => cloudSource(api, change.fileId, change.version),
      retry,
      log,
      onMessage: (message) => daemon?.onMessage(message),
      gate: controls.gate,
      ...(options.rescanIntervalMs !== undefined && { rescanIntervalMs: options.rescanIntervalMs }),
    })
    daemon = new Daemon({
      engine,
      node,
      swarm,
      linked,
      identity,
      log,
      state,
      stateDir,
      root: fs.root,
      index: localIndex,
      pipeline,
      api,
      statusIntervalMs: options.statusIntervalMs ?? 1_000,
      controls,
    })
    await api
      .updateAddresses(nodeAddresses(node))
      .catch((err) =>
        log('warn', 'could not announce swarm addresses', { error: (err as Error).message }),
      )
    await daemon.refreshPeers().catch(() => {})
    await daemon.#renewal.start()
    daemon.#stopFailover = watchCoordinators(api, {
      log,
      ...(options.homeProbeMs !== undefined && { intervalMs: options.homeProbeMs }),
    })
    await engine.start()
    await daemon.writeStatus()
    return daemon
  }

  onMessage(message: ServerMessage): void {
    if (message.type === 'devices') this.#setPeers(message.devices)
  }

  async refreshPeers(): Promise<void> {
    this.#setPeers((await this.#api.devices()).devices)
  }

  #setPeers(devices: DeviceInfo[]): void {
    // Unlinked devices leave the swarm at once: their open connections are closed, and
    // their new streams refused (LinkedPeers.admits), whatever their certificates say.
    this.#linked.update(devices)
    const gone = this.node
      .getConnections()
      .map((c) => c.remotePeer.toString())
      .filter((peerId) => !this.#linked.hasPeer(peerId))
    if (gone.length > 0) void closeConnectionsTo(this.node, gone)
    this.#peers = devices.filter((d) => d.deviceId !== this.state.deviceId)
    this.swarm.setPeers(
      this.#peers
        .filter((d) => d.online && d.addresses.length > 0)
        .map((d) => ({ peerId: d.peerId, multiaddrs: d.addresses })),
    )
  }

  /** An error no task handled (process-guard.ts): counted and shown, never hidden. */
  recordFault(error: unknown): void {
    this.#faults.count++
    this.#faults.last = { at: new Date().toISOString(), error: describeError(error) }
  }

  status(): DaemonStatus {
    const { engine } = this
    const { remote } = engine
    const problems = engine.problems.list()
    const iso = (ms: number) => new Date(ms).toISOString()
    // A device this one has a libp2p connection to: chunks can come from it directly.
    const swarmPeers = new Set(this.node.getConnections().map((c) => c.remotePeer.toString()))
    return {
      pid: process.pid,
      deviceId: this.state.deviceId,
      name: this.state.name,
      startedAt: new Date(this.#startedAt).toISOString(),
      updatedAt: new Date().toISOString(),
      ...(this.#stoppedAt !== undefined && { stoppedAt: iso(this.#stoppedAt) }),
      connected: remote.connected,
      push: {
        live: remote.connected,
        ...(remote.connectedSince !== undefined && { since: iso(remote.connectedSince) }),
        ...(remote.lastPushError !== undefined && { lastError: remote.lastPushError }),
      },
      cursor: syncIndexOf(this.#index, Date.now).getCursor(),
      ...(remote.head && { head: { seq: remote.head.seq, at: iso(remote.head.at) } }),
      problemCount: problems.length,
      problems: problems.slice(0, STATUS_PROBLEMS_MAX).map((p) => ({
        path: p.path,
        kind: p.kind,
        reason: p.reason,
        ...(p.code !== undefined && { code: p.code }),
        since: iso(p.since),
        lastAt: iso(p.lastAt),
        attempts: p.attempts,
      })),
      ignored: {
        count: engine.ignored.count,
        paths: engine.ignored.list(),
        ...(engine.ignoreRules.error !== undefined && { rulesError: engine.ignoreRules.error }),
      },
      ...(this.#disk && {
        disk: {
          ...this.#disk,
          fullPaths: problems.filter((p) => p.code === 'ENOSPC').length,
        },
      }),
      faults: structuredClone(this.#faults),
      behind: engine.remote.behind,
      pendingPaths: engine.pendingPaths,
      pendingUploads: this.#index.listUploads().length,
      paused: this.controls.paused,
      limits: this.controls.settings().limits,
      devices: this.#peers.map((d) => ({
        name: d.name,
        online: d.online,
        deviceId: d.deviceId,
        lan: swarmPeers.has(d.peerId),
      })),
      inFlight: inFlightFiles(
        syncIndexOf(this.#index, Date.now),
        engine.provisional,
        this.state.deviceId,
        (sessionId) => engine.uploader.cloudRates.bytesPerSecond(sessionId),
      ),
      uploads: { ...engine.uploader.counters },
      local: { ...engine.local.counters },
      remote: { ...engine.remote.counters },
      sources: structuredClone(engine.fetcher.counters),
      prefetch: { ...(engine.prefetcher?.counters ?? {}) },
      addresses: nodeAddresses(this.node),
    }
  }

  async writeStatus(): Promise<void> {
    const file = join(this.stateDir, STATUS_FILE)
    this.#disk = await statfs(this.#root).then(
      (s) => ({ freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize }),
      () => this.#disk,
    )
    // Written aside and renamed, so `cloudsync status` never reads half a file.
    await writeFile(`${file}.tmp`, JSON.stringify(this.status(), null, 2))
      .then(() => rename(`${file}.tmp`, file))
      .catch(() => {})
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#renewal.stop()
    this.#stopFailover()
    this.#stopCollector()
    await this.engine.stop()
    this.#stoppedAt = Date.now()
    await this.writeStatus()
    await this.node.stop()
    await this.#pipeline.close()
    this.#index.close()
  }
}
