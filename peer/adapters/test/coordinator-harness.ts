/**
 * A real coordinator for the adapter tests: built in-process on PGlite in memory, with the
 * memory or a local-disk blob store, listening on 127.0.0.1. Devices are linked through
 * the HTTP client under test, and files are real encrypted chunks from the pipeline.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../../coordinator/app.ts'
import { LocalDiskBlobStore } from '../../../coordinator/blobs/index.ts'
import { testConfig } from '../../../coordinator/config.ts'
import { createAccount } from '../../../coordinator/services/accounts.ts'
import { peerIdentity } from '../../../coordinator/test/harness.ts'
import { createDomainSecret } from '../../../protocol/crypto/keys.ts'
import type { Manifest } from '../../../protocol/manifest.ts'
import { sourceFromBytes } from '../../../protocol/pipeline/byte-source.ts'
import { ChunkPipeline } from '../../../protocol/pipeline/encode.ts'
import type { LinkDeviceResponse } from '../../../protocol/schemas/devices.ts'
import type { UploadCompleteResponse } from '../../../protocol/schemas/files.ts'
import { HttpCoordinator, linkDevice } from '../http-coordinator.ts'

export interface TestCoordinator {
  app: FastifyInstance
  url: string
  /** Set with `localDisk`: where chunk files live (tests tamper with them). */
  blobs: LocalDiskBlobStore | undefined
  close(): Promise<void>
}

export async function startCoordinator(
  options: { localDisk?: boolean } = {},
): Promise<TestCoordinator> {
  const dir = options.localDisk ? await mkdtemp(join(tmpdir(), 'cloudsync-blobs-')) : undefined
  const blobs = dir ? new LocalDiskBlobStore({ directory: dir }) : undefined
  const app = await buildApp(testConfig(), blobs ? { blobs } : {})
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  let closed = false
  return {
    app,
    url,
    blobs,
    async close() {
      if (closed) return
      closed = true
      await app.close()
      // A store passed in is ours to close.
      await blobs?.close()
      if (dir) await rm(dir, { recursive: true, force: true })
    },
  }
}

export interface TestDevice {
  linked: LinkDeviceResponse
  api: HttpCoordinator
}

export interface TestAccount {
  devices: TestDevice[]
  /** The account's domain secret (devices hold it; the coordinator never sees it). */
  secret: Uint8Array
}

/** A new account with `count` devices linked over HTTP (invites after the first). */
export async function newAccount(t: TestCoordinator, count = 1): Promise<TestAccount> {
  const { token } = await createAccount(t.app.db, { print: null, now: t.app.now() })
  const devices = [await link(t, token, 'device-0')]
  for (let i = 1; i < count; i++) {
    const invite = await devices[0]!.api.invite()
    devices.push(await link(t, invite.token, `device-${i}`))
  }
  return { devices, secret: createDomainSecret() }
}

async function link(t: TestCoordinator, token: string, name: string): Promise<TestDevice> {
  const linked = await linkDevice(t.url, { token, name, ...(await peerIdentity(token)) })
  return { linked, api: new HttpCoordinator({ baseUrl: t.url, credential: linked.credential }) }
}

export interface EncryptedFile {
  plaintext: Uint8Array
  manifest: Manifest
  ciphertexts: Map<string, Uint8Array>
}

/** Small chunks, so a few KiB make several. */
const TEST_CHUNKING = { minSize: 256, avgSize: 1024, maxSize: 4096 }

export async function encryptFile(
  secret: Uint8Array,
  plaintext: Uint8Array,
): Promise<EncryptedFile> {
  const pipeline = new ChunkPipeline({ secret, workers: 0, chunking: TEST_CHUNKING })
  const ciphertexts = new Map<string, Uint8Array>()
  try {
    const { manifest } = await pipeline.encode(sourceFromBytes(plaintext), {
      keepCiphertext: true,
      onChunk: (chunk) => {
        ciphertexts.set(chunk.id, new Uint8Array(chunk.ciphertext!))
      },
    })
    return { plaintext, manifest, ciphertexts }
  } finally {
    await pipeline.close()
  }
}

/** init, PUT every missing chunk to its presigned URL, complete. */
export async function uploadFile(
  api: HttpCoordinator,
  path: string,
  file: EncryptedFile,
  baseVersion: number | null = null,
): Promise<UploadCompleteResponse & { missing: number[] }> {
  const init = await api.initUpload({ path, ...file.manifest, baseVersion })
  for (const upload of init.uploads) {
    const id = file.manifest.chunks[upload.index]!.id
    await api.putChunk(upload, file.ciphertexts.get(id)!)
  }
  const done = await api.completeUpload(init.sessionId)
  return { ...done, missing: init.missing }
}

export function randomText(bytes: number, seed = 1): Uint8Array {
  // Deterministic, incompressible-looking bytes (xorshift), so chunk cuts are repeatable.
  const out = new Uint8Array(bytes)
  let x = seed * 2654435761 || 1
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

export interface TinyServer {
  url: string
  close(): Promise<void>
}

/** A plain HTTP server answering whatever the test wants (garbage, silence, huge sizes). */
export async function tinyServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<TinyServer> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
