/**
 * The benchmark's device side: keep-alive JSON over node:http (cheaper per request than
 * fetch, and the client shares the two cores with the coordinators), valid encrypted
 * single-chunk files, and percentiles.
 */
import { randomBytes } from 'node:crypto'
import { Agent, request as httpRequest } from 'node:http'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { linkProofBytes } from '../../protocol/certificates.ts'
import { encryptChunk } from '../../protocol/crypto/chunk-cipher.ts'
import { contentHash } from '../../protocol/crypto/keys.ts'
import type { Manifest } from '../../protocol/manifest.ts'

const agent = new Agent({ keepAlive: true, maxSockets: 256 })

export interface Answer {
  status: number
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, read field by field
  body: any
}

/** One request; `body` is JSON unless it is bytes (a chunk PUT). */
export function call(
  url: string,
  method: string,
  options: { body?: unknown; credential?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const { body, credential } = options
  const payload =
    body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body)
  const headers: Record<string, string | number> = { ...options.headers }
  if (credential) headers.authorization = `Bearer ${credential}`
  if (payload !== undefined) {
    if (!(body instanceof Uint8Array)) headers['content-type'] = 'application/json'
    headers['content-length'] = Buffer.byteLength(payload)
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => {
        const text = Buffer.concat(parts).toString()
        try {
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null })
        } catch {
          resolve({ status: res.statusCode ?? 0, body: text })
        }
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

export function expectStatus(answer: Answer, status: number, what: string): Answer {
  if (answer.status !== status) {
    throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`)
  }
  return answer
}

export interface BenchFile {
  manifest: Manifest
  ciphertext: Buffer
}

/** A file of one chunk of `size` random plaintext bytes, encrypted under the domain secret
 * as a device would (convergent AES-256-GCM), so the coordinator sees real chunk ids. */
export function encryptedFile(secret: Uint8Array, size = 4096): BenchFile {
  const chunk = encryptChunk(secret, randomBytes(size))
  const ciphertext = chunk.ciphertext!
  return {
    ciphertext,
    manifest: {
      size,
      hash: contentHash(secret, [chunk.plainHash]),
      chunks: [
        {
          index: 0,
          id: chunk.id,
          offset: 0,
          size,
          cipherSize: ciphertext.length,
          seal: chunk.seal,
        },
      ],
    },
  }
}

/** init, PUT the chunk to its presigned URL, complete: all on the instance at `base`. */
export async function commitFile(
  base: string,
  credential: string,
  path: string,
  file: BenchFile,
): Promise<void> {
  const init = expectStatus(
    await call(`${base}/files/upload/init`, 'POST', {
      credential,
      body: { path, ...file.manifest, baseVersion: null },
    }),
    201,
    'upload init',
  )
  for (const u of init.body.uploads as { url: string; headers: Record<string, string> }[]) {
    const put = await call(u.url, 'PUT', { body: file.ciphertext, headers: u.headers })
    if (put.status >= 300) throw new Error(`chunk PUT: HTTP ${put.status}`)
  }
  expectStatus(
    await call(`${base}/files/upload/${init.body.sessionId}/complete`, 'POST', { credential }),
    200,
    'upload complete',
  )
}

/** A fresh peer key's link fields for `token`, the link proof included. */
export async function newPeerId(
  token: string,
): Promise<{ peerId: string; publicKey: string; proof: string }> {
  const key = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPublicKey(key.publicKey).toString()
  return {
    peerId,
    publicKey: Buffer.from(key.publicKey.raw).toString('base64'),
    proof: Buffer.from(await key.sign(linkProofBytes(token, peerId))).toString('base64'),
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

/** Runs `task(i)` for i = 0.. with `concurrency` at a time, until `count` or `ms` is up;
 * answers how many finished and how long they took. */
export async function runFor(
  count: number,
  ms: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<{ done: number; elapsedMs: number }> {
  const start = performance.now()
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < count && performance.now() - start < ms) {
      await task(next++)
      done++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { done, elapsedMs: performance.now() - start }
}

export function closeClient(): void {
  agent.destroy()
}
