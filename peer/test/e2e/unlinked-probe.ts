/**
 * A device that keeps asking a running daemon for chunks while it is unlinked:
 * `node unlinked-probe.ts <linked folder> <target multiaddr with /p2p/> <go file> <chunk id>`
 *
 * It connects and asks once on a fresh stream (`before`), then keeps that connection and a
 * second stream on it open (hello sent, nothing asked yet) until `<go file>` exists: the
 * test unlinks the device meanwhile. Then for up to 20 s, every 200 ms, it asks on the held
 * stream and on new streams of the same connection, never dialling again, and reports the
 * first refusal (`after`): how long after the go file it came and what it was.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Connection, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { CHUNK_PROTOCOL } from '../../../protocol/constants.ts'
import { encodeRequest, FrameDecoder } from '../../../protocol/p2p/chunk-protocol.ts'
import { loadDeviceState } from '../../daemon/device-state.ts'
import { helloFrame } from '../../swarm/identity.ts'
import { createSwarmNode, decodeNodeKey } from '../../swarm/index.ts'
import { FrameReader, sendAll } from '../../swarm/stream-io.ts'

const [dir, target, goFile, id] = process.argv.slice(2)
if (!dir || !target || !goFile || !id) {
  throw new Error('usage: unlinked-probe.ts <linked folder> <multiaddr> <go file> <chunk id>')
}
const state = await loadDeviceState(join(resolve(dir), '.cloudsync'))
const identity = { certificate: state.certificate, coordinatorKey: state.coordinatorKey }
const node = await createSwarmNode({
  privateKey: decodeNodeKey(Buffer.from(state.nodeKey, 'base64')),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  chunks: { identity, provider: { read: async () => undefined } },
  mdns: false,
})

interface Answer {
  status: string
  bodyBytes: number
}

/** Hello both ways on a new stream of `connection`; the reader for what comes back. */
async function openStream(
  connection: Connection,
): Promise<{ stream: Stream; reader: FrameReader }> {
  const stream = await connection.newStream(CHUNK_PROTOCOL, { signal: AbortSignal.timeout(5_000) })
  const reader = new FrameReader(stream, new FrameDecoder('requester'))
  await sendAll(stream, [helloFrame(identity)])
  const hello = await reader.next()
  if (hello?.kind !== 'hello') throw new Error('no hello from the responder')
  return { stream, reader }
}

/** One request for `id` on an open stream; the stream stays open for more. */
async function ask(stream: Stream, reader: FrameReader): Promise<Answer> {
  reader.decoder.expect([id!])
  await sendAll(stream, [encodeRequest([id!])])
  const answer: Answer = { status: 'none', bodyBytes: 0 }
  let size = 0
  const deadline = setTimeout(() => stream.abort(new Error('no answer in 5 s')), 5_000)
  try {
    for (let frame = await reader.next(); frame; frame = await reader.next()) {
      if (frame.kind === 'header') {
        answer.status = frame.header.status
        size = frame.header.size ?? 0
      } else if (frame.kind === 'body') answer.bodyBytes += frame.bytes.length
      if (answer.status !== 'none' && answer.bodyBytes >= size) break
    }
  } finally {
    clearTimeout(deadline)
  }
  return answer
}

/** What asking once answers, or the error that stopped it (a closed stream or connection). */
const attempt = (fn: () => Promise<Answer>): Promise<Answer> =>
  fn().catch((err: Error) => ({ status: `error: ${err.message}`, bodyBytes: 0 }))

const connection = await node.dial(multiaddr(target), { signal: AbortSignal.timeout(15_000) })
const first = await openStream(connection)
const before = await ask(first.stream, first.reader)
const held = await openStream(connection)
process.stdout.write(`before ${JSON.stringify(before)}\n`)

while (!existsSync(goFile)) await new Promise((r) => setTimeout(r, 50))
const start = Date.now()
let after: { ms: number; held: Answer; fresh: Answer; connection: string } | undefined
while (!after && Date.now() - start < 20_000) {
  const heldAnswer = await attempt(() => ask(held.stream, held.reader))
  const fresh = await attempt(async () => {
    const s = await openStream(connection)
    return ask(s.stream, s.reader)
  })
  if (heldAnswer.status !== 'ok' && fresh.status !== 'ok') {
    after = { ms: Date.now() - start, held: heldAnswer, fresh, connection: connection.status }
  } else {
    await new Promise((r) => setTimeout(r, 200))
  }
}
process.stdout.write(`after ${JSON.stringify(after ?? null)}\n`)
await node.stop()
