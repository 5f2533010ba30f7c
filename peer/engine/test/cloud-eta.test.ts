import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChunkPipeline } from '../../../protocol/pipeline/encode.ts'
import type { HttpCoordinator } from '../../adapters/http-coordinator.ts'
import { MemoryFileSystem } from '../../adapters/memory-fs.ts'
import {
  newAccount,
  startCoordinator,
  type TestAccount,
  type TestCoordinator,
} from '../../adapters/test/coordinator-harness.ts'
import { syncIndexOf } from '../../daemon/index-port.ts'
import { LocalIndex } from '../../local-index/local-index.ts'
import { CLOUD_RATE_WINDOW_MS } from '../cloud-rate.ts'
import { type InFlightFile, inFlightFiles } from '../in-flight-files.ts'
import { ProvisionalFiles } from '../provisional.ts'
import { Uploader } from '../uploader.ts'

let t: TestCoordinator
let account: TestAccount
beforeAll(async () => {
  t = await startCoordinator()
  account = await newAccount(t, 1)
})
afterAll(async () => {
  await t?.close()
})

/** Small chunks, so a few dozen KiB make dozens of PUTs. */
const CHUNKING = { minSize: 256, avgSize: 1024, maxSize: 4096 }
/** Each chunk PUT takes this long on the uploader's clock, which moves only then. */
const PUT_MS = 1_000

describe('cloud copy ETA of an upload', () => {
  it('is unknown before the first ack, then the bytes left over the last window’s rate', async () => {
    let now = 1_000_000
    const { api: realApi, linked } = account.devices[0]!
    const fs = new MemoryFileSystem()
    const index = syncIndexOf(new LocalIndex(':memory:'), () => now)
    const provisional = new ProvisionalFiles({ fs, index, secret: account.secret })
    const seen: InFlightFile[] = []
    let uploader: Uploader | undefined
    // What `status` would show as each PUT begins; the clock moves as it ends.
    const api = new Proxy(realApi, {
      get(target, prop) {
        if (prop === 'putChunk')
          return async (...args: Parameters<HttpCoordinator['putChunk']>) => {
            const rates = uploader!.cloudRates
            const files = inFlightFiles(index, provisional, linked.deviceId, (s) =>
              rates.bytesPerSecond(s),
            )
            seen.push(files[0]!)
            await target.putChunk(...args)
            now += PUT_MS
          }
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const pipeline = new ChunkPipeline({ secret: account.secret, workers: 0, chunking: CHUNKING })
    uploader = new Uploader({
      fs,
      api,
      index,
      pipeline,
      secret: account.secret,
      retry: (call) => call(),
      now: () => now,
      concurrency: 1,
    })
    try {
      const body = new Uint8Array(randomBytes(64 * 1024))
      fs.writeFile('big.bin', body)
      const file = (await uploader.encode('big.bin'))!
      const sizes = file.manifest.chunks.map((c) => c.size)
      expect(sizes.length).toBeGreaterThan(2 * (CLOUD_RATE_WINDOW_MS / PUT_MS))
      await uploader.upload('big.bin', file, null)

      expect(seen).toHaveLength(sizes.length)
      expect(seen[0]).toMatchObject({ state: 'uploading', cloudBytes: 0, size: body.length })
      expect(seen[0]!.etaSeconds).toBeUndefined()
      expect(seen[0]!.cloudBytesPerSecond).toBeUndefined()
      const windowPuts = CLOUD_RATE_WINDOW_MS / PUT_MS
      for (let k = 1; k < sizes.length; k++) {
        // k chunks acknowledged, one per second: the rate is over the last window of them.
        const inWindow = sizes.slice(Math.max(0, k - windowPuts), k)
        const bytes = inWindow.reduce((a, b) => a + b, 0)
        const rate = (bytes * 1000) / (Math.min(k, windowPuts) * PUT_MS)
        const done = sizes.slice(0, k).reduce((a, b) => a + b, 0)
        expect(seen[k]).toMatchObject({
          cloudBytes: done,
          cloudBytesPerSecond: Math.ceil(rate),
          etaSeconds: Math.ceil((body.length - done) / rate),
        })
      }
      // All sent (the engine forgets the checkpoint when the commit comes back): no rate
      // kept, nothing left to wait for.
      const [after] = inFlightFiles(index, provisional, linked.deviceId, (s) =>
        uploader!.cloudRates.bytesPerSecond(s),
      )
      expect(after).toMatchObject({ cloudBytes: body.length, etaSeconds: 0 })
      expect(after!.cloudBytesPerSecond).toBeUndefined()
    } finally {
      await pipeline.close()
    }
  })
})
