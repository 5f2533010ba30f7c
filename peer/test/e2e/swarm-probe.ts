/**
 * Asks a running daemon for chunks as the linked device in `<folder>`:
 * `node swarm-probe.ts <linked folder> <target multiaddr with /p2p/> <chunk id>...`
 *
 * Two ways, one JSON line each:
 * - `client`: through SwarmSource with the target as its only peer (the product's
 *   requester, which also checks the responder's certificate);
 * - `raw`: the chunk protocol by hand, ignoring who the responder is, so what the
 *   responder itself answers is visible: each id's status and the body bytes it sent.
 */
import { join, resolve } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { CHUNK_PROTOCOL } from '../../../protocol/constants.ts'
import { encodeRequest, FrameDecoder } from '../../../protocol/p2p/chunk-protocol.ts'
import { loadDeviceState } from '../../daemon/device-state.ts'
import { helloFrame } from '../../swarm/identity.ts'
import {
  chunkStreamOpener,
  createSwarmNode,
  decodeNodeKey,
  SwarmSource,
} from '../../swarm/index.ts'
import { FrameReader, sendAll } from '../../swarm/stream-io.ts'

const [dir, target, ...ids] = process.argv.slice(2)
if (!dir || !target || ids.length === 0) {
  throw new Error('usage: swarm-probe.ts <linked folder> <multiaddr> <chunk id>...')
}
const state = await loadDeviceState(join(resolve(dir), '.cloudsync'))
const identity = { certificate: state.certificate, coordinatorKey: state.coordinatorKey }
const node = await createSwarmNode({
  privateKey: decodeNodeKey(Buffer.from(state.nodeKey, 'base64')),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  chunks: { identity, provider: { read: async () => undefined } },
  mdns: false,
})
const addr = multiaddr(target)
const peerId = addr.getComponents().find((c) => c.name === 'p2p')?.value
if (!peerId) throw new Error(`${target} names no peer id`)

// The product's requester.
const source = new SwarmSource({
  identity,
  openStream: chunkStreamOpener(node),
  peers: [{ peerId, multiaddrs: [target] }],
  requestTimeoutMs: 15_000,
})
const client: { id: string; bytes: number; error?: string }[] = []
for await (const r of source.getMany(ids, { signal: AbortSignal.timeout(30_000) })) {
  client.push(
    r.error ? { id: r.id, bytes: 0, error: r.error.code } : { id: r.id, bytes: r.bytes.length },
  )
}
process.stdout.write(`client ${JSON.stringify(client)}\n`)

// By hand: hello, request, and whatever the responder sends back.
const stream = await node.dialProtocol(addr, CHUNK_PROTOCOL, {
  signal: AbortSignal.timeout(15_000),
})
const reader = new FrameReader(stream, new FrameDecoder('requester'))
const raw = { statuses: [] as { id: string; status: string }[], bodyBytes: 0 }
await sendAll(stream, [helloFrame(identity)])
const hello = await reader.next()
if (hello?.kind !== 'hello') throw new Error('no hello from the responder')
reader.decoder.expect(ids)
await sendAll(stream, [encodeRequest(ids)])
await stream.close()
const deadline = setTimeout(() => stream.abort(new Error('probe timed out')), 15_000)
try {
  for (let frame = await reader.next(); frame; frame = await reader.next()) {
    if (frame.kind === 'header') raw.statuses.push(frame.header)
    else if (frame.kind === 'body') raw.bodyBytes += frame.bytes.length
  }
} finally {
  clearTimeout(deadline)
}
process.stdout.write(`raw ${JSON.stringify(raw)}\n`)
await node.stop()
