/**
 * A device of the account that serves wrong bytes: `node lying-peer.ts <linked folder>`.
 * It is linked like any device (with the CLI), presents its valid certificate, announces
 * its swarm addresses and keeps a push channel open so the coordinator lists it online,
 * and answers every chunk request with the chunk's real ciphertext (fetched from the
 * cloud) with one byte flipped: right id, right size, wrong bytes.
 *
 * Prints `ready <addresses>` once announced, and `served <id>` per tampered chunk.
 */
import { join, resolve } from 'node:path'
import { HttpCoordinator } from '../../adapters/http-coordinator.ts'
import { WebSocketPush } from '../../adapters/ws-push.ts'
import { loadDeviceState } from '../../daemon/device-state.ts'
import { createSwarmNode, decodeNodeKey, nodeAddresses } from '../../swarm/index.ts'

const dir = process.argv[2]
if (!dir) throw new Error('usage: lying-peer.ts <linked folder>')
const state = await loadDeviceState(join(resolve(dir), '.cloudsync'))
const api = new HttpCoordinator({ baseUrl: state.coordinatorUrl, credential: state.credential })

/** chunk id -> a presigned GET URL, from the download answers of every live file. */
let urls = new Map<string, string>()
async function refreshUrls(): Promise<void> {
  const next = new Map<string, string>()
  let cursor: string | undefined
  do {
    const page = await api.list(cursor ? { cursor } : {})
    for (const file of page.files) {
      if (file.deleted) continue
      const answer = await api.download(file.fileId)
      for (const c of answer.chunks) next.set(c.id, c.url)
    }
    cursor = page.next
  } while (cursor)
  urls = next
}

const node = await createSwarmNode({
  privateKey: decodeNodeKey(Buffer.from(state.nodeKey, 'base64')),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  chunks: {
    identity: { certificate: state.certificate, coordinatorKey: state.coordinatorKey },
    provider: {
      async read(id) {
        if (!urls.has(id)) await refreshUrls()
        const url = urls.get(id)
        if (!url) return undefined
        const bytes = Uint8Array.from(await api.fetchChunk(url))
        bytes[bytes.length >> 1]! ^= 0x5a
        process.stdout.write(`served ${id}\n`)
        return bytes
      },
    },
  },
  mdns: false,
})

await api.updateAddresses(nodeAddresses(node))
const stop = new AbortController()
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => stop.abort())
}
const push = new WebSocketPush({ baseUrl: state.coordinatorUrl, credential: state.credential })
let announced = false
while (!stop.signal.aborted) {
  await push
    .open(
      0,
      (message) => {
        if (message.type === 'ready' && !announced) {
          announced = true
          process.stdout.write(`ready ${nodeAddresses(node).join(' ')}\n`)
        }
      },
      stop.signal,
    )
    .catch((err: Error) => process.stderr.write(`push channel: ${err.message}\n`))
  if (!stop.signal.aborted) await new Promise((r) => setTimeout(r, 500))
}
await node.stop()
