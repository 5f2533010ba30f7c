import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Identify } from '@libp2p/identify'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { linkProofBytes } from '../../protocol/certificates.ts'
import { CHUNK_PROTOCOL, MiB } from '../../protocol/constants.ts'
import { type ChunkService, type ChunkServiceInit, chunkService } from './chunk-service.ts'
import { noiseCrypto } from './noise-crypto.ts'
import type { OpenChunkStream, SwarmPeer } from './swarm-peer.ts'

/** The device's libp2p node: TCP, noise, yamux, identify, the chunk service, optional mDNS. */

export type SwarmNode = Libp2p<{ identify: Identify; chunks: ChunkService }>

export interface SwarmNodeInit {
  /** The device's identity; its peer id is what the coordinator certifies. */
  privateKey: PrivateKey
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/4001`; tests use `/ip4/127.0.0.1/tcp/0`. */
  listen: string[]
  /** The chunk service's identity, provider and limits. */
  chunks: ChunkServiceInit
  /**
   * LAN discovery by multicast. Off unless asked for: multicast leaves the machine, so it
   * has no place in tests outside network namespaces.
   */
  mdns?: { interval?: number } | false
  /**
   * Yamux's per-stream receive window ceiling. It bounds one stream's throughput to
   * window / RTT, so it is sized to bandwidth × RTT: 32 MiB covers 1 Gbit/s at 250 ms,
   * and on loopback lets a whole chunk be in flight.
   */
  maxStreamWindowSize?: number
}

export const DEFAULT_STREAM_WINDOW = 32 * MiB
/** mDNS announces every 10 s by default; a LAN peer should appear faster than that. */
export const DEFAULT_MDNS_INTERVAL_MS = 2_000

export async function createSwarmNode(init: SwarmNodeInit): Promise<SwarmNode> {
  return createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise({ crypto: noiseCrypto })],
    streamMuxers: [
      yamux({
        streamOptions: { maxStreamWindowSize: init.maxStreamWindowSize ?? DEFAULT_STREAM_WINDOW },
      }),
    ],
    peerDiscovery: init.mdns
      ? [mdns({ interval: init.mdns.interval ?? DEFAULT_MDNS_INTERVAL_MS })]
      : [],
    services: {
      identify: identify(),
      chunks: chunkService(init.chunks),
    },
  })
}

/**
 * How a SwarmSource reaches a peer through this node: remember the addresses the
 * coordinator (or mDNS) gave for it, then open a chunk stream, reusing a live connection.
 */
export function chunkStreamOpener(node: SwarmNode): OpenChunkStream {
  return async (peer: SwarmPeer, signal: AbortSignal) => {
    const peerId = peerIdFromString(peer.peerId)
    if (peer.multiaddrs?.length) {
      await node.peerStore.merge(peerId, { multiaddrs: peer.multiaddrs.map((a) => multiaddr(a)) })
    }
    return node.dialProtocol(peerId, CHUNK_PROTOCOL, { signal })
  }
}

/** Closes every open connection to the given peers (devices unlinked meanwhile). */
export async function closeConnectionsTo(
  node: SwarmNode,
  peerIds: readonly string[],
): Promise<void> {
  const gone = new Set(peerIds)
  const open = node.getConnections().filter((c) => gone.has(c.remotePeer.toString()))
  await Promise.all(open.map((c) => c.close().catch(() => c.abort(new Error('unlinked')))))
}

/** A fresh device identity. */
export const generateNodeKey = (): Promise<PrivateKey> => generateKeyPair('Ed25519')
/** The peer id a key stands for: what the device asks the coordinator to certify. */
export const peerIdOf = (key: PrivateKey): string => peerIdFromPrivateKey(key).toString()
/** The key's signature over a link (linkProofBytes), base64: the link request's `proof`. */
export const linkProof = async (key: PrivateKey, token: string): Promise<string> =>
  Buffer.from(await key.sign(linkProofBytes(token, peerIdOf(key)))).toString('base64')
/** The bytes a device keeps in its state directory (private file mode). */
export const encodeNodeKey = (key: PrivateKey): Uint8Array => privateKeyToProtobuf(key)
export const decodeNodeKey = (bytes: Uint8Array): PrivateKey => privateKeyFromProtobuf(bytes)

/** Dialable addresses of a started node, each ending in its peer id. */
export const nodeAddresses = (node: SwarmNode): string[] =>
  node.getMultiaddrs().map((a) => a.toString())
