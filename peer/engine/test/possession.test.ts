import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../../coordinator/app.ts'
import { testConfig } from '../../../coordinator/config.ts'
import { createAccount } from '../../../coordinator/services/accounts.ts'
import { peerIdentity } from '../../../coordinator/test/harness.ts'
import { ChunkPipeline } from '../../../protocol/pipeline/encode.ts'
import { HttpCoordinator, linkDevice } from '../../adapters/http-coordinator.ts'
import { MemoryFileSystem } from '../../adapters/memory-fs.ts'
import { syncIndexOf } from '../../daemon/index-port.ts'
import { LocalIndex } from '../../local-index/local-index.ts'
import { Uploader } from '../uploader.ts'

const globalSecret = randomBytes(32).toString('base64')
const app = await buildApp(testConfig({ dedupDomain: 'global', globalDomainSecret: globalSecret }))
const url = await app.listen({ host: '127.0.0.1', port: 0 })
afterAll(() => app.close())

/** A device of a fresh account, uploading from its own in-memory folder. */
async function deviceOfNewAccount() {
  const { token } = await createAccount(app.db, { print: null })
  const linked = await linkDevice(url, { token, name: 'device', ...(await peerIdentity(token)) })
  if (linked.domain.kind !== 'global') throw new Error('expected the global domain')
  const secret = Buffer.from(linked.domain.secret, 'base64')
  const fs = new MemoryFileSystem()
  const uploader = new Uploader({
    fs,
    api: new HttpCoordinator({ baseUrl: url, credential: linked.credential }),
    index: syncIndexOf(new LocalIndex(':memory:'), Date.now),
    pipeline: new ChunkPipeline({
      secret,
      workers: 0,
      chunking: { minSize: 1024, avgSize: 4096, maxSize: 16384 },
    }),
    secret,
    retry: (call) => call(),
    now: Date.now,
  })
  return { fs, uploader }
}

describe('uploader in a global dedup domain', () => {
  it('references another account’s chunks by proving possession, sending no chunk bytes', async () => {
    const content = randomBytes(60_000)
    const a = await deviceOfNewAccount()
    a.fs.writeFile('shared.iso', content)
    const first = await a.uploader.upload(
      'shared.iso',
      (await a.uploader.encode('shared.iso'))!,
      null,
    )
    expect(a.uploader.counters.chunksSent).toBeGreaterThan(3)

    const b = await deviceOfNewAccount()
    b.fs.writeFile('copy.iso', content)
    const second = await b.uploader.upload('copy.iso', (await b.uploader.encode('copy.iso'))!, null)
    expect(second.state).toBe('committed')
    expect(second.fileId).not.toBe(first.fileId)
    expect(b.uploader.counters.chunksSent).toBe(0)
    expect(b.uploader.counters.chunksDeduplicated).toBe(a.uploader.counters.chunksSent)
  })
})
