/**
 * Scenario 8: bad input at the device. The real coordinator refuses paths that escape a
 * folder, so an attacker would have to be (or impersonate) the coordinator: here a fake
 * one (Fastify with a WebSocket, speaking the protocol) feeds a real `cloudsync sync`
 * process changes whose paths are `../escape.txt`, an absolute path, and a valid path
 * through a symlink that leads out of the folder. Each is refused and logged, nothing is
 * written outside the folder, and a harmless change after them still arrives.
 *
 * The same changes go through the exported engine (ChangeApplier on the real
 * NodeFileSystem) too, since the daemon's schema checks stop the first two before the
 * applier's own check sees them.
 */
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import websocket from '@fastify/websocket'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Manifest } from '../../../protocol/manifest.ts'
import { sourceFromBytes } from '../../../protocol/pipeline/byte-source.ts'
import { ChunkPipeline } from '../../../protocol/pipeline/encode.ts'
import type { Change } from '../../../protocol/schemas/sync.ts'
import { NodeFileSystem } from '../../adapters/node-fs.ts'
import type { ChunkSource } from '../../chunk-sources/chunk-source.ts'
import { ChunkFetcher } from '../../chunk-sources/fetcher.ts'
import {
  type DeviceState,
  loadDeviceState,
  saveDeviceState,
  secretOf,
} from '../../daemon/device-state.ts'
import { ChangeApplier } from '../../engine/applier.ts'
import type { IndexedFile, SyncIndex } from '../../ports/sync-index.ts'
import { type Device, E2E, waitFor } from './harness.ts'

let e2e: E2E
let device: Device
let state: DeviceState
let fake: FastifyInstance
let outside: string
const blobs = new Map<string, Uint8Array>()
const changes: Change[] = []
/** What the fake served, for the test to see the daemon actually asked. */
const served = { hellos: 0, changePolls: 0, downloads: 0 }
/** Every path the fake has sent in a change (socket or poll answer), and when it first did. */
const sentPaths = new Map<string, number>()
const markSent = (path: string) => {
  if (!sentPaths.has(path)) sentPaths.set(path, Date.now())
}
const sockets = new Set<{ send(data: string): void }>()

/** Adds a change to the log and pushes it to the connected devices, as a coordinator does. */
function publish(c: Change, at = changes.length): void {
  changes[at] = c
  for (const socket of sockets) {
    markSent(c.path)
    socket.send(JSON.stringify({ type: 'change', change: c }))
  }
}

async function encode(content: string): Promise<Manifest> {
  const pipeline = new ChunkPipeline({ secret: secretOf(state), workers: 0 })
  try {
    const { manifest } = await pipeline.encode(sourceFromBytes(Buffer.from(content)), {
      keepCiphertext: true,
      onChunk: (chunk) => {
        blobs.set(chunk.id, new Uint8Array(chunk.ciphertext!))
      },
    })
    return manifest
  } finally {
    await pipeline.close()
  }
}

/** A change as the coordinator would send it; `path` is not checked here on purpose. */
function change(seq: number, path: string, manifest: Manifest): Change {
  return {
    seq,
    kind: 'created',
    fileId: randomUUID(),
    path,
    version: 1,
    size: manifest.size,
    hash: manifest.hash,
    chunks: manifest.chunks,
    deviceId: randomUUID(),
    committedAt: new Date().toISOString(),
  }
}

async function startFakeCoordinator(): Promise<string> {
  fake = Fastify()
  await fake.register(websocket)
  fake.put('/devices/self/addresses', async (_req, reply) => reply.code(204).send())
  fake.get('/devices', async () => ({ devices: [] }))
  fake.get('/sync/changes', async (req) => {
    served.changePolls++
    const cursor = Number((req.query as { cursor?: string }).cursor ?? 0)
    // A long poll with nothing new: hold it a little, as the real one would.
    const after = changes.filter((c) => c.seq > cursor)
    if (after.length === 0) await new Promise((r) => setTimeout(r, 500))
    for (const c of after) markSent(c.path)
    return { changes: after, cursor: after.at(-1)?.seq ?? cursor, hasMore: false }
  })
  fake.get('/files/:fileId/download', async (req, reply) => {
    served.downloads++
    const { fileId } = req.params as { fileId: string }
    const found = changes.find((c) => c.fileId === fileId)
    if (!found) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'no file' } })
    const base = `http://127.0.0.1:${(fake.server.address() as { port: number }).port}`
    return {
      fileId,
      version: found.version,
      chunks: (found.chunks ?? []).map((c, index) => ({
        index,
        id: c.id,
        url: `${base}/blob/${c.id}`,
      })),
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    }
  })
  fake.get('/blob/:id', async (req, reply) => {
    const bytes = blobs.get((req.params as { id: string }).id)
    if (!bytes) return reply.code(404).send()
    return reply.type('application/octet-stream').send(Buffer.from(bytes))
  })
  fake.get('/sync/ws', { websocket: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('message', (data: Buffer) => {
      const hello = JSON.parse(data.toString()) as { type: string; cursor: number }
      if (hello.type !== 'hello') return
      served.hellos++
      socket.send(JSON.stringify({ type: 'ready', cursor: hello.cursor }))
      for (const c of changes.filter((c) => c.seq > hello.cursor)) {
        markSent(c.path)
        socket.send(JSON.stringify({ type: 'change', change: c }))
      }
    })
  })
  return fake.listen({ host: '127.0.0.1', port: 0 })
}

beforeAll(async () => {
  e2e = await E2E.create('badinput')
  const coordinator = await e2e.startCoordinator()
  ;[device] = await e2e.account(coordinator, ['victim'])
  // The real coordinator only linked the device; from now on the fake one speaks to it.
  await coordinator.proc.kill()
  state = await loadDeviceState(device.stateDir)
  const url = await startFakeCoordinator()
  await saveDeviceState(device.stateDir, { ...state, coordinatorUrl: url })
  outside = join(e2e.root, 'outside')
  await mkdir(outside)
  // A symlink inside the folder that leads out of it (the user's, or planted).
  await symlink(outside, join(device.dir, 'link'))
}, 120_000)

afterAll(async () => {
  await e2e?.cleanup()
  await fake?.close()
})

const logLines = (output: string) =>
  output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown })

describe('a hostile coordinator', () => {
  test('a path through a symlink out of the folder is refused, logged, not written', async () => {
    changes.push(change(1, 'link/evil.txt', await encode('written through a symlink\n')))
    changes.push(change(2, 'fine.txt', await encode('a harmless file\n')))
    await e2e.startDaemon(device)
    await waitFor(() => existsSync(join(device.dir, 'fine.txt')), {
      timeoutMs: 30_000,
      what: 'the harmless change after the hostile one to arrive',
    })
    expect(await readFile(join(device.dir, 'fine.txt'), 'utf8')).toBe('a harmless file\n')
    expect(existsSync(join(outside, 'evil.txt'))).toBe(false)
    const refused = logLines(device.daemon!.output).filter((l) => /outside the folder/.test(l.msg))
    expect(refused.length, device.daemon!.output).toBeGreaterThanOrEqual(1)
  }, 90_000)

  test('`..` and absolute paths are refused and logged; nothing lands outside', async () => {
    const daemon = device.daemon!
    const escapeTarget = join(device.dir, '..', 'escape.txt')
    const absolute = join(e2e.root, 'absolute.txt')
    // The device checks every message against the protocol's schemas, which refuse such
    // paths: the frame (and the poll answer carrying it) is refused as a protocol breach.
    const refusedSince = (path: string) => {
      const sentAt = sentPaths.get(path)
      return (
        sentAt !== undefined &&
        logLines(daemon.output).some(
          (l) =>
            l.level >= 40 &&
            Number(l.time) >= sentAt &&
            /path must match pattern|invalid frame/.test(String(l.error)),
        )
      )
    }
    publish(change(3, '../escape.txt', await encode('escaped with ..\n')))
    await waitFor(() => refusedSince('../escape.txt'), {
      timeoutMs: 30_000,
      what: 'the daemon to refuse and log the `..` path',
    })
    publish(change(3, absolute, await encode('absolute\n')), 2)
    await waitFor(() => refusedSince(absolute), {
      timeoutMs: 60_000,
      what: 'the daemon to refuse and log the absolute path',
    })
    // Still alive, nothing written anywhere it should not be.
    expect(daemon.running).toBe(true)
    expect(existsSync(escapeTarget)).toBe(false)
    expect(existsSync(absolute)).toBe(false)
    expect(existsSync(join(outside, 'evil.txt'))).toBe(false)
  }, 120_000)
})

describe('the engine itself (ChangeApplier on the real file system)', () => {
  test('refuses `..`, absolute and symlinked paths without writing anything', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cloudsync-e2e-applier-'))
    try {
      const folder = join(root, 'folder')
      const away = join(root, 'away')
      await mkdir(folder)
      await mkdir(away)
      await symlink(away, join(folder, 'link'))
      const fs = await NodeFileSystem.open({ root: folder })
      const files = new Map<string, IndexedFile>()
      const index = {
        getFile: (p: string) => files.get(p),
        putFile: (f: IndexedFile) => void files.set(f.path, f),
        removeFile: (p: string) => void files.delete(p),
      } as unknown as SyncIndex
      const warnings: { message: string; fields?: object }[] = []
      const source: ChunkSource = {
        name: 'test',
        get: async (id) => blobs.get(id)!,
        async *getMany(ids) {
          for (const id of ids) yield { id, bytes: blobs.get(id)! }
        },
      }
      const applier = new ChangeApplier({
        fs,
        index,
        secret: secretOf(state),
        fetcher: new ChunkFetcher(),
        sourcesFor: () => [source],
        log: (_level, message, fields) => warnings.push({ message, ...(fields && { fields }) }),
      })
      const m = await encode('hostile\n')
      expect(await applier.apply(change(1, '../escape.txt', m))).toBe('refused-path')
      expect(await applier.apply(change(2, join(root, 'abs.txt'), m))).toBe('refused-path')
      expect(await applier.apply(change(3, 'a/../../escape2.txt', m))).toBe('refused-path')
      const viaLink = await applier.apply(change(4, 'link/evil.txt', m))
      expect(viaLink).not.toBe('written')
      expect(await applier.apply(change(5, 'ok.txt', m))).toBe('written')
      expect(existsSync(join(root, 'escape.txt'))).toBe(false)
      expect(existsSync(join(root, 'escape2.txt'))).toBe(false)
      expect(existsSync(join(root, 'abs.txt'))).toBe(false)
      expect(existsSync(join(away, 'evil.txt'))).toBe(false)
      expect(await readFile(join(folder, 'ok.txt'), 'utf8')).toBe('hostile\n')
      const logged = JSON.stringify(warnings)
      expect(logged).toContain('../escape.txt')
      expect(logged).toContain('abs.txt')
      expect(logged).toContain('link/evil.txt')
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
