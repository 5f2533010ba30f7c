/** The account's other devices as the swarm source sees them, and how it reaches them. */
import type { Stream } from '@libp2p/interface'
import type { Pace } from '../ports/pace.ts'
import type { SwarmIdentity } from './identity.ts'

/** A device of this account, as the coordinator (or mDNS) announced it. */
export interface SwarmPeer {
  /** libp2p peer id; the chunk protocol checks the peer's certificate names it. */
  peerId: string
  /** Where to dial it, e.g. `/ip4/192.168.1.5/tcp/4001`; not needed if already connected. */
  multiaddrs?: string[]
}

/** Opens a CHUNK_PROTOCOL stream to a peer (libp2p in production: `chunkStreamOpener`). */
export type OpenChunkStream = (peer: SwarmPeer, signal: AbortSignal) => Promise<Stream>

/** A swarm download's settings, every default filled in (SwarmSourceInit). */
export interface SwarmDownloadSettings {
  identity: SwarmIdentity
  openStream: OpenChunkStream
  requestsPerPeer: number
  chunksPerRequest: number
  requestTimeoutMs: number
  idleTimeoutMs: number
  downPeerBackoffMs: number
  /** The LAN download limit. */
  pace?: Pace
}
