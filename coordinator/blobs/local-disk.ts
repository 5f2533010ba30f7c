/**
 * The embedded default BlobStore: one file per chunk under a directory, fanned out by key
 * prefix (ab/cd/abcd…) so no directory grows past a few thousand entries. Writes are
 * atomic (temp file, fsync, rename): a crash never leaves a partial chunk under its real
 * name. Devices reach it through the coordinator's data-plane route (local-route.ts).
 */
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  fsync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  write,
  writeSync,
} from 'node:fs'
import { constants, type FileHandle, mkdir, open, readFile, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { CloudsyncError } from '../../protocol/errors.ts'
import { releaseBytes } from '../../protocol/memory/release-bytes.ts'
import { assertBlobKey, assertBlobRange, assertChunkBytes, chunkIdOfKey } from './blob-checks.ts'
import type {
  BlobHead,
  PresignedGet,
  PresignedPut,
  PresignGetOptions,
  PresignPutOptions,
} from './blob-store.ts'
import { UrlSigner, type UrlSignerConfig } from './local-signing.ts'
import { receiveChunk } from './receive-chunk.ts'
import type { BlobReader, ServedBlobStore } from './served-blob-store.ts'

export interface LocalDiskBlobStoreConfig extends UrlSignerConfig {
  /** Root directory; created on demand. */
  directory: string
}

/** Received chunk bodies reach the disk in writes of this size. */
const WRITE_BATCH = 1024 * 1024
/** Bodies up to this size (a small file's chunk) are received whole and written at once. */
const SMALL_BLOB_BYTES = 64 * 1024

const fsyncFd = promisify(fsync)
const writeFd = promisify(write)

/** Writes all of `bytes` at the descriptor's position, off the event loop. */
async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; ) {
    at += (await writeFd(fd, bytes, at, bytes.length - at, null)).bytesWritten
  }
}

/** Temp files live inside the root (same file system, so rename is atomic). */
const TEMP_DIR = 'tmp'

export class LocalDiskBlobStore implements ServedBlobStore {
  readonly kind = 'local-disk'
  readonly signer: UrlSigner
  readonly directory: string

  /** Directories known to exist (at most 65,536 fan-out ones and the temp one). */
  readonly #made = new Set<string>()

  constructor(config: LocalDiskBlobStoreConfig) {
    this.directory = config.directory
    this.signer = new UrlSigner(config)
  }

  setPublicUrl(url: string): void {
    this.signer.setPublicUrl(url)
  }

  /** Where a chunk lives; the key is validated first, so it can never leave the root. */
  pathOf(key: string): string {
    assertBlobKey(key)
    const id = chunkIdOfKey(key)
    return join(this.directory, id.slice(0, 2), id.slice(2, 4), key)
  }

  /**
   * Metadata calls here (stat; a blob's open, close and rename) are synchronous:
   * each is microseconds of kernel time on a local file system, while a thread-pool round
   * trip costs two thread switches, a measurable share of a small file's commit. What
   * waits on the disk (fsync, large writes) stays off the event loop.
   */
  async head(key: string): Promise<BlobHead | null> {
    try {
      return { size: statSync(this.pathOf(key)).size }
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    assertChunkBytes(key, bytes)
    await this.#writeAtomically(key, (fd) => writeAll(fd, bytes))
  }

  async receive(key: string, source: AsyncIterable<Uint8Array>, size: number): Promise<void> {
    if (size <= SMALL_BLOB_BYTES) {
      const pieces: Uint8Array[] = []
      await receiveChunk(key, source, size, (piece) => {
        pieces.push(piece)
      })
      const bytes = Buffer.concat(pieces)
      return this.#writeAtomically(key, (fd) => {
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at)
      })
    }
    await this.#writeAtomically(key, async (fd) => {
      // The socket hands over pieces of ~64 KiB; written one by one they cost a thread-pool
      // round trip each. Gathered into writes of up to 1 MiB: 16 times fewer.
      const batch = Buffer.allocUnsafe(Math.min(size, WRITE_BATCH))
      let filled = 0
      const flush = async () => {
        if (filled > 0) await writeAll(fd, batch.subarray(0, filled))
        filled = 0
      }
      await receiveChunk(key, source, size, async (piece) => {
        for (let at = 0; at < piece.byteLength; ) {
          const n = Math.min(batch.length - filled, piece.byteLength - at)
          batch.set(piece.subarray(at, at + n), filled)
          filled += n
          at += n
          if (filled === batch.length) await flush()
        }
        // Each piece is a socket read of its own, copied into the batch: released now, not
        // left for the collector, whose full marks it would trigger every few dozen MB.
        releaseBytes(piece)
      })
      await flush()
      releaseBytes(batch)
    })
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.pathOf(key)))
    } catch (err) {
      if (isNotFound(err)) throw new CloudsyncError('NOT_FOUND', `No blob ${key}`, { key })
      throw err
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    assertBlobRange(offset, length)
    let file: FileHandle
    try {
      file = await open(this.pathOf(key), 'r')
    } catch (err) {
      if (isNotFound(err)) throw new CloudsyncError('NOT_FOUND', `No blob ${key}`, { key })
      throw err
    }
    try {
      assertBlobRange(offset, length, (await file.stat()).size)
      const range = new Uint8Array(length)
      let filled = 0
      while (filled < length) {
        const { bytesRead } = await file.read(range, filled, length - filled, offset + filled)
        if (bytesRead === 0) throw new CloudsyncError('NOT_FOUND', `Blob ${key} was truncated`)
        filled += bytesRead
      }
      return range
    } finally {
      await file.close()
    }
  }

  async openRead(key: string): Promise<BlobReader | null> {
    let file: FileHandle
    try {
      file = await open(this.pathOf(key), 'r')
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
    // Size from the open handle, so a concurrent delete cannot split size from content.
    const { size } = await file.stat()
    return { size, stream: file.createReadStream({ autoClose: true }) }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key))
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
  }

  async presignPut(key: string, options: PresignPutOptions): Promise<PresignedPut> {
    return this.signer.presignPut(key, options)
  }

  async presignGet(key: string, options: PresignGetOptions): Promise<PresignedGet> {
    return this.signer.presignGet(key, options)
  }

  async check(): Promise<void> {
    const temp = join(this.directory, TEMP_DIR)
    await mkdir(temp, { recursive: true })
    // Opening a directory for writing is not portable; prove writability with a probe file.
    const probe = join(temp, `check-${randomBytes(6).toString('hex')}`)
    const file = await open(probe, constants.O_CREAT | constants.O_WRONLY | constants.O_EXCL)
    await file.close()
    await unlink(probe)
  }

  async close(): Promise<void> {}

  /**
   * Writes a blob atomically (temp file, fsync, rename): a crash never leaves a partial blob
   * under its real name. The metadata calls are synchronous (see head); the fsync, and
   * whatever `fill` awaits, are not.
   */
  async #writeAtomically(key: string, fill: (fd: number) => void | Promise<void>): Promise<void> {
    const target = this.pathOf(key)
    const temp = join(this.directory, TEMP_DIR, `${key}.${randomBytes(6).toString('hex')}`)
    const fd = await this.#ensuringDir(dirname(temp), () => openSync(temp, 'wx'))
    let open = true
    try {
      await fill(fd)
      await fsyncFd(fd)
      open = false
      closeSync(fd)
      // Same content under the same name: concurrent writers of one chunk both win.
      await this.#ensuringDir(dirname(target), () => renameSync(temp, target))
    } catch (err) {
      // A descriptor number is reused once closed: never close it twice.
      if (open) closeSync(fd)
      try {
        unlinkSync(temp)
      } catch {}
      throw err
    }
  }

  /**
   * Runs `op`, which needs `dir` to exist. A directory made once is assumed to stay (a
   * recursive mkdir per chunk was a measurable share of every PUT); if it vanished anyway,
   * ENOENT makes it again and `op` runs once more.
   */
  async #ensuringDir<T>(dir: string, op: () => T | Promise<T>): Promise<T> {
    if (this.#made.has(dir)) {
      try {
        return await op()
      } catch (err) {
        if (!isNotFound(err)) throw err
      }
    }
    await mkdir(dir, { recursive: true })
    this.#made.add(dir)
    return op()
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
}
