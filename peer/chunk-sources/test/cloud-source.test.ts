import { readdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { CloudsyncError } from '../../../protocol/errors.ts'
import { bufferSink, FileAssembler } from '../../../protocol/pipeline/assemble.ts'
import type { DownloadResponse } from '../../../protocol/schemas/files.ts'
import type { HttpCoordinator } from '../../adapters/http-coordinator.ts'
import {
  type EncryptedFile,
  encryptFile,
  newAccount,
  randomText,
  startCoordinator,
  type TestCoordinator,
  uploadFile,
} from '../../adapters/test/coordinator-harness.ts'
import type { ChunkResult } from '../chunk-source.ts'
import { CloudSource, cloudSource } from '../cloud-source.ts'

let t: TestCoordinator
beforeAll(async () => {
  t = await startCoordinator({ localDisk: true })
})
afterAll(() => t.close())

async function collect(results: AsyncIterable<ChunkResult>): Promise<ChunkResult[]> {
  const out: ChunkResult[] = []
  for await (const r of results) out.push(r)
  return out
}

/** An uploaded file, and a second device's client to read it with. */
async function uploaded(
  seed: number,
): Promise<{ api: HttpCoordinator; file: EncryptedFile; fileId: string }> {
  const { devices, secret } = await newAccount(t, 2)
  const file = await encryptFile(secret, randomText(12_000, seed))
  const done = await uploadFile(devices[0]!.api, `f${seed}.bin`, file)
  return { api: devices[1]!.api, file, fileId: done.fileId }
}

it('gets every chunk through presigned URLs, several at a time, and they decrypt to the file', async () => {
  const { devices, secret } = await newAccount(t, 2)
  const file = await encryptFile(secret, randomText(30_000, 5))
  const done = await uploadFile(devices[0]!.api, 'big.bin', file)
  const api = devices[1]!.api
  let answers = 0
  const source = new CloudSource({
    fetchUrls: (signal) => {
      answers++
      return api.download(done.fileId, done.version, signal)
    },
    fetchChunk: (url, signal) => api.fetchChunk(url, signal),
    concurrency: 3,
  })
  expect(source.name).toBe('cloud')

  const ids = file.manifest.chunks.map((c) => c.id)
  const results = await collect(source.getMany(ids))
  expect(results.map((r) => r.error)).toEqual(ids.map(() => undefined))
  expect(new Set(results.map((r) => r.id))).toEqual(new Set(ids))
  // One download answer serves every chunk, even with gets racing for it.
  expect(answers).toBe(1)

  const sink = bufferSink(file.manifest.size)
  const assembler = new FileAssembler(file.manifest, secret, sink)
  for (const r of results) {
    for (const c of file.manifest.chunks.filter((c) => c.id === r.id)) {
      await assembler.accept(c.index, r.bytes!)
    }
  }
  expect(assembler.done).toBe(true)
  expect(Buffer.from(sink.bytes).equals(file.plaintext)).toBe(true)
})

it('answers CHUNK_CORRUPT for tampered bytes in the store and NOT_FOUND for an unknown id', async () => {
  const { api, file, fileId } = await uploaded(6)
  const [bad, ...good] = file.manifest.chunks.map((c) => c.id)
  const stored = Buffer.from(file.ciphertexts.get(bad!)!)
  stored[5] = stored[5]! ^ 0xff
  // Blob keys are per account (`<account>.<chunk id>`): tamper with the object that was PUT.
  const dir = dirname(t.blobs!.pathOf(bad!))
  const [key] = (await readdir(dir)).filter((name) => name.endsWith(bad!))
  expect(key).toBeDefined()
  await writeFile(join(dir, key!), stored)

  const source = cloudSource(api, fileId, 1)
  const unknown = 'f'.repeat(64)
  const results = await collect(source.getMany([bad!, ...good, unknown]))
  const byId = new Map(results.map((r) => [r.id, r]))
  expect(byId.get(bad!)?.error?.code).toBe('CHUNK_CORRUPT')
  expect(byId.get(bad!)?.bytes).toBeUndefined()
  expect(byId.get(unknown)?.error?.code).toBe('NOT_FOUND')
  for (const id of good) expect(byId.get(id)?.bytes?.length).toBe(file.ciphertexts.get(id)!.length)

  const err = await source.get(bad!).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(CloudsyncError)
  expect((err as CloudsyncError).code).toBe('CHUNK_CORRUPT')
})

it('refetches the download answer when its URLs are refused (403) or about to expire', async () => {
  const { api, file, fileId } = await uploaded(7)
  const ids = file.manifest.chunks.map((c) => c.id)
  let now = Date.now()
  let answers = 0
  const source = new CloudSource({
    fetchUrls: async (signal) => {
      answers++
      const answer = await api.download(fileId, undefined, signal)
      // The first answer's signatures are broken: the store refuses them with a 403.
      return answers === 1 ? withBrokenSignatures(answer) : answer
    },
    fetchChunk: (url, signal) => api.fetchChunk(url, signal),
    now: () => now,
    expiryMarginMs: 60_000,
  })

  const first = await source.get(ids[0]!)
  expect(Buffer.from(first).equals(file.ciphertexts.get(ids[0]!)!)).toBe(true)
  expect(answers).toBe(2)
  await source.get(ids[1]!)
  expect(answers).toBe(2)

  // The coordinator signs for an hour; within the margin of that, a fresh answer is fetched.
  now += 3600_000 - 30_000
  await source.get(ids[2]!)
  expect(answers).toBe(3)
})

it('passes on the coordinator refusing the download (an unknown version)', async () => {
  const { api, file, fileId } = await uploaded(8)
  const source = cloudSource(api, fileId, 9)
  const err = await source.get(file.manifest.chunks[0]!.id).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(CloudsyncError)
  expect((err as CloudsyncError).code).toBe('NOT_FOUND')
})

function withBrokenSignatures(answer: DownloadResponse): DownloadResponse {
  return {
    ...answer,
    chunks: answer.chunks.map((c) => ({
      ...c,
      url: c.url.replace(/sig=[^&]+/, `sig=${'A'.repeat(43)}`),
    })),
  }
}
