/**
 * Test harness: apps on PGlite in memory (or a given store), linked devices with real
 * libp2p peer ids, and files whose chunks are real bytes, so uploads can go through the
 * presigned URLs over HTTP.
 */
import { createHash, randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { linkProofBytes } from '../../protocol/certificates.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import type { LinkDeviceResponse } from '../../protocol/schemas/devices.ts'
import { type AppDeps, buildApp } from '../app.ts'
import { type Config, loadConfig, testConfig } from '../config.ts'
import { createAccount } from '../services/accounts.ts'
import type { Db } from '../store/index.ts'

export const sha256 = (bytes: Uint8Array | string): string =>
  createHash('sha256').update(bytes).digest('hex')

export interface TestApp {
  app: FastifyInstance
  /** Set when listening (tests that fetch presigned URLs). */
  url: string | undefined
  close(): Promise<void>
}

export async function startApp(
  options: { listen?: boolean; config?: Partial<Config>; deps?: AppDeps } = {},
): Promise<TestApp> {
  const app = await buildApp(testConfig(options.config), options.deps)
  const url = options.listen ? await app.listen({ host: '127.0.0.1', port: 0 }) : undefined
  return { app, url, close: () => app.close() }
}

/** A fresh peer key's link fields for `token`: its peer id, public key and link proof. */
export async function peerIdentity(
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

export interface TestDevice extends LinkDeviceResponse {
  name: string
  /** inject() as this device. */
  call(options: InjectOptions): Promise<LightMyRequestResponse>
}

export async function linkDevice(app: FastifyInstance, token: string, name: string) {
  const identity = await peerIdentity(token)
  const res = await app.inject({
    method: 'POST',
    url: '/devices',
    payload: { token, name, ...identity },
  })
  if (res.statusCode !== 201) throw new Error(`link failed: ${res.statusCode} ${res.body}`)
  const linked = res.json() as LinkDeviceResponse
  return asDevice(app, linked, name)
}

export function asDevice(
  app: FastifyInstance,
  linked: LinkDeviceResponse,
  name: string,
): TestDevice {
  return {
    ...linked,
    name,
    call: (options) =>
      app.inject({
        ...options,
        headers: { ...options.headers, authorization: `Bearer ${linked.credential}` },
      }),
  }
}

/** A new account with devices linked through the API (invites after the first). */
export async function newAccount(
  app: FastifyInstance,
  names: string[] = ['laptop'],
): Promise<TestDevice[]> {
  const { token } = await createAccount(app.db, { print: null, now: app.now() })
  const devices = [await linkDevice(app, token, names[0]!)]
  for (const name of names.slice(1)) {
    const invite = await devices[0]!.call({ method: 'POST', url: '/devices/invite' })
    devices.push(await linkDevice(app, invite.json().token, name))
  }
  return devices
}

export interface TestFile {
  manifest: Manifest
  /** Ciphertext bytes by chunk id. */
  bytes: Map<string, Uint8Array>
}

/** A file of `sizes.length` chunks of random "ciphertext" (plaintext size + 16-byte tag). */
export function makeFile(sizes: number[] = [100, 200, 50], reuse: Uint8Array[] = []): TestFile {
  const bytes = new Map<string, Uint8Array>()
  let offset = 0
  const chunks = sizes.map((size, index) => {
    const cipher = reuse[index] ?? new Uint8Array(randomBytes(size + 16))
    const id = sha256(cipher)
    bytes.set(id, cipher)
    const chunk = {
      index,
      id,
      offset,
      size: cipher.length - 16,
      cipherSize: cipher.length,
      seal: sha256(`seal${id}`),
    }
    offset += chunk.size
    return chunk
  })
  return { manifest: { size: offset, hash: sha256(chunks.map((c) => c.id).join()), chunks }, bytes }
}

/** Rows that a refused request must leave untouched. */
export async function snapshot(db: Db): Promise<Record<string, unknown>> {
  const tables = [
    'accounts',
    'devices',
    'link_tokens',
    'files',
    'file_versions',
    'chunks',
    'upload_sessions',
    'session_chunks',
    'changes',
  ]
  const out: Record<string, unknown> = {}
  for (const t of tables) {
    const { rows } = await db.query(`SELECT * FROM ${t} ORDER BY 1, 2`)
    // Presence (last seen) is bookkeeping of every authenticated request, not a write.
    out[t] = rows.map(({ last_seen_at: _, ...row }) => row)
  }
  return out
}

/** The S3 settings an operator would set, for s3rver on loopback at `port`. */
export function s3rverConfig(port: number, bucket: string): Config['s3'] {
  return loadConfig({
    S3_BUCKET: bucket,
    S3_ENDPOINT: `http://127.0.0.1:${port}`,
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_FORCE_PATH_STYLE: 'true',
  }).s3
}
