/**
 * The coordinator's Ed25519 key, which signs device certificates. Every instance must
 * share it (a certificate from one instance is checked by peers against the key any
 * instance hands out), so it comes from configuration, or from the data directory, where
 * it is made on first start. Without either, a key per process: fine for tests only.
 */
import { createHmac, createPublicKey, randomBytes } from 'node:crypto'
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import {
  type CoordinatorKeys,
  decodePrivateKey,
  encodePublicKey,
  generateCoordinatorKeys,
} from '../../protocol/certificates.ts'
import { type Config, dataPaths } from '../config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    keys: CoordinatorKeys
  }
}

export async function loadCoordinatorKeys(config: Config): Promise<CoordinatorKeys> {
  if (config.coordinatorKey) return fromPrivate(config.coordinatorKey)
  if (!config.dataDir) return generateCoordinatorKeys()
  const file = dataPaths(config.dataDir).coordinatorKey
  try {
    const stored = JSON.parse(await readFile(file, 'utf8')) as { privateKey: string }
    return fromPrivate(stored.privateKey)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const keys = generateCoordinatorKeys()
  await mkdir(config.dataDir, { recursive: true })
  // Written whole under a name of our own, then linked into place: link() fails if the
  // file exists, so two processes starting at once never each keep a different key, and
  // the loser never reads a file the winner has created but not written yet.
  const own = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`
  await writeFile(own, JSON.stringify(keys), { mode: 0o600, flag: 'wx' })
  try {
    await link(own, file)
    return keys
  } catch (err) {
    // Another instance made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    const stored = JSON.parse(await readFile(file, 'utf8')) as { privateKey: string }
    return fromPrivate(stored.privateKey)
  } finally {
    await unlink(own)
  }
}

/**
 * The local blob store's URL-signing key when none is configured: derived from the
 * coordinator's private key, which every instance of a deployment shares, so instances
 * behind one load balancer verify each other's URLs and URLs survive a restart. The fixed
 * label keeps this key apart from any other use of the private key.
 */
export function blobSigningSecret(keys: CoordinatorKeys): Buffer {
  return createHmac('sha256', Buffer.from(keys.privateKey, 'base64'))
    .update('cloudsync blob url signing v1')
    .digest()
}

function fromPrivate(privateKey: string): CoordinatorKeys {
  const key = decodePrivateKey(privateKey)
  return { privateKey, publicKey: encodePublicKey(createPublicKey(key)) }
}

async function keys(app: FastifyInstance, options: { config: Config }): Promise<void> {
  app.decorate('keys', await loadCoordinatorKeys(options.config))
}

export const keysPlugin = fp(keys, { fastify: '5.x', name: 'cloudsync-keys' })
