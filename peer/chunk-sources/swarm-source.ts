import { CloudsyncError } from '../../protocol/errors.ts'
import type { Pace } from '../ports/pace.ts'
import { DEFAULT_IDLE_TIMEOUT_MS } from '../swarm/chunk-client.ts'
import type { SwarmIdentity } from '../swarm/identity.ts'
import { PeerSlots } from '../swarm/peer-slots.ts'
import { type PeerCounters, PeerStats } from '../swarm/peer-stats.ts'
import { SwarmDownload } from '../swarm/swarm-download.ts'
import type { OpenChunkStream, SwarmDownloadSettings, SwarmPeer } from '../swarm/swarm-peer.ts'
import type { ChunkFetchOptions, ChunkResult, ChunkSource } from './chunk-source.ts'

export type { OpenChunkStream, SwarmPeer } from '../swarm/swarm-peer.ts'

export interface SwarmSourceInit {
  identity: SwarmIdentity
  openStream: OpenChunkStream
  peers?: readonly SwarmPeer[]
  /** Requests in flight per peer; each is its own stream, so they overlap on the wire. */
  requestsPerPeer?: number
  /** Chunk ids per request: small, so work spreads evenly and a lost request costs little. */
  chunksPerRequest?: number
  /** A whole request (dial, hello, every chunk in it) must finish within this. */
  requestTimeoutMs?: number
  /** A request (or a dial) fails when the peer sends nothing for this long. */
  idleTimeoutMs?: number
  /** A peer whose request broke is left out of new requests for this long. */
  downPeerBackoffMs?: number
  /** The LAN download limit, on every byte read from peers. */
  pace?: Pace
}

export const DEFAULT_REQUESTS_PER_PEER = 3
export const DEFAULT_CHUNKS_PER_REQUEST = 2
/** Two chunks of up to 16 MiB at a slow 1 MB/s, with room to spare. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000
export const DEFAULT_DOWN_PEER_BACKOFF_MS = 5_000

/**
 * Chunks from the account's other devices over libp2p. Every chunk is verified against
 * its id; a chunk no peer delivered comes back as an error result (NOT_FOUND when nobody
 * had it, BUSY after timeouts or dropped peers, FORBIDDEN, CHUNK_CORRUPT), for the caller
 * to fetch from the cloud instead.
 */
export class SwarmSource implements ChunkSource {
  readonly name = 'swarm'
  readonly #settings: SwarmDownloadSettings
  readonly #stats = new PeerStats()
  readonly #slots = new PeerSlots()
  #peers: readonly SwarmPeer[] = []

  constructor(init: SwarmSourceInit) {
    this.#settings = {
      identity: init.identity,
      openStream: init.openStream,
      requestsPerPeer: init.requestsPerPeer ?? DEFAULT_REQUESTS_PER_PEER,
      chunksPerRequest: init.chunksPerRequest ?? DEFAULT_CHUNKS_PER_REQUEST,
      requestTimeoutMs: init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: init.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      downPeerBackoffMs: init.downPeerBackoffMs ?? DEFAULT_DOWN_PEER_BACKOFF_MS,
      ...(init.pace && { pace: init.pace }),
    }
    this.setPeers(init.peers ?? [])
  }

  /** Replaces the peers to ask (the coordinator's list of the account's online devices). */
  setPeers(peers: readonly SwarmPeer[]): void {
    const self = this.#settings.identity.certificate.payload.peerId
    this.#peers = peers.filter((p) => p.peerId !== self)
  }

  get peers(): readonly SwarmPeer[] {
    return this.#peers
  }

  /** Per-peer counters since this source was made. */
  counters(): PeerCounters[] {
    return this.#stats.snapshot()
  }

  async get(id: string, options: ChunkFetchOptions = {}): Promise<Uint8Array> {
    for await (const result of this.getMany([id], options)) {
      if (result.error) throw result.error
      return result.bytes
    }
    throw new CloudsyncError('NOT_FOUND', `No answer for chunk ${id}`, { id })
  }

  getMany(ids: readonly string[], options: ChunkFetchOptions = {}): AsyncIterable<ChunkResult> {
    const shared = { stats: this.#stats, slots: this.#slots, peers: () => this.#peers }
    const download = new SwarmDownload(this.#settings, shared, ids)
    return download.run(options.signal)
  }
}
