import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import {
  type CoordinatorKeys,
  type DeviceCertificate,
  generateCoordinatorKeys,
  issueCertificate,
} from '../../../protocol/certificates.ts'
import { CHUNK_PROTOCOL } from '../../../protocol/constants.ts'
import {
  encodeHello,
  encodeRequest,
  type Frame,
  FrameDecoder,
  type Hello,
} from '../../../protocol/p2p/chunk-protocol.ts'
import { SwarmSource, type SwarmSourceInit } from '../../chunk-sources/swarm-source.ts'
import type { ChunkProvider, ChunkServiceInit } from '../chunk-service.ts'
import type { SwarmIdentity } from '../identity.ts'
import {
  chunkStreamOpener,
  createSwarmNode,
  generateNodeKey,
  peerIdOf,
  type SwarmNode,
} from '../node.ts'
import { sendAll } from '../stream-io.ts'

/** A coordinator's key and one account on it. */
export interface Account {
  keys: CoordinatorKeys
  accountId: string
}

export const newAccount = (keys = generateCoordinatorKeys()): Account => ({
  keys,
  accountId: randomUUID(),
})

/** Random bytes named by their SHA-256, as chunk ciphertext is. */
export function randomChunk(size: number): { id: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(randomBytes(size))
  return { id: createHash('sha256').update(bytes).digest('hex'), bytes }
}

export function certify(account: Account, peerId: string): DeviceCertificate {
  return issueCertificate(
    { deviceId: randomUUID(), accountId: account.accountId, peerId, issuedAt: Date.now() },
    account.keys.privateKey,
  )
}

export interface Device {
  node: SwarmNode
  peerId: string
  addresses: string[]
  identity: SwarmIdentity
  chunks: Map<string, Uint8Array>
}

export interface DeviceOptions {
  /** The certificate this device presents; by default a genuine one for its own peer id. */
  certificate?: (peerId: string) => DeviceCertificate
  /** Serve from something other than the device's chunk map. */
  provider?: (chunks: Map<string, Uint8Array>) => ChunkProvider
  service?: Partial<Omit<ChunkServiceInit, 'identity' | 'provider'>>
}

/** A started node on 127.0.0.1 (random port, no mDNS) serving its `chunks` map. */
export async function startDevice(account: Account, options: DeviceOptions = {}): Promise<Device> {
  const privateKey = await generateNodeKey()
  const peerId = peerIdOf(privateKey)
  const certificate = options.certificate?.(peerId) ?? certify(account, peerId)
  const identity: SwarmIdentity = { certificate, coordinatorKey: account.keys.publicKey }
  const chunks = new Map<string, Uint8Array>()
  const provider = options.provider?.(chunks) ?? { read: async (id) => chunks.get(id) }
  const node = await createSwarmNode({
    privateKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    chunks: { identity, provider, ...options.service },
  })
  const addresses = node.getMultiaddrs().map((a) => a.toString())
  return { node, peerId, addresses, identity, chunks }
}

/** A SwarmSource on `device` asking `peers`. */
export function swarmOf(
  device: Device,
  peers: readonly Device[],
  init: Partial<SwarmSourceInit> = {},
): SwarmSource {
  return new SwarmSource({
    identity: device.identity,
    openStream: chunkStreamOpener(device.node),
    peers: peers.map((p) => ({ peerId: p.peerId, multiaddrs: p.addresses })),
    ...init,
  })
}

/**
 * A requester that does not follow the rules: sends `hello` (or none) and a request at
 * once without checking the responder, then records every frame it gets back and whether
 * the stream ended cleanly.
 */
export async function rawRequest(
  from: Device,
  to: Device,
  hello: Hello | undefined,
  ids: string[],
): Promise<{ frames: Frame[]; error?: Error }> {
  const stream = await from.node.dialProtocol(multiaddr(to.addresses[0]!), CHUNK_PROTOCOL)
  const decoder = new FrameDecoder('requester')
  decoder.expect(ids)
  const frames: Frame[] = []
  try {
    await sendAll(stream, [...(hello ? [encodeHello(hello)] : []), encodeRequest(ids)])
    await stream.close()
    for await (const piece of stream) {
      const buffers = piece instanceof Uint8Array ? [piece] : [...piece]
      for (const b of buffers) frames.push(...decoder.push(b))
    }
    decoder.end()
    return { frames }
  } catch (error) {
    return { frames, error: error as Error }
  }
}

export const helloWith = (certificate: DeviceCertificate): Hello => ({ version: 1, certificate })

/** Stops nodes in parallel, ignoring ones already stopped. */
export async function stopAll(devices: readonly (Device | undefined)[]): Promise<void> {
  await Promise.all(devices.map((d) => d?.node.stop()))
}
