import { GCM_TAG_BYTES } from '../../protocol/constants.ts'
import { reencryptChunk } from '../../protocol/crypto/chunk-cipher.ts'
import { possessionResponse } from '../../protocol/crypto/possession.ts'
import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import type { ChunkPipeline } from '../../protocol/pipeline/encode.ts'
import { releaseBytes } from '../../protocol/runtime/release-bytes.ts'
import type {
  Challenge,
  ChunkUpload,
  UploadCompleteRequest,
  UploadCompleteResponse,
} from '../../protocol/schemas/files.ts'
import type { CoordinatorApi } from '../ports/coordinator.ts'
import {
  type FileStat,
  type ReadHandle,
  type SyncFileSystem,
  sameStat,
} from '../ports/file-system.ts'
import type { SyncIndex, UploadCheckpoint } from '../ports/sync-index.ts'
import { RecentCiphertexts } from './recent-ciphertexts.ts'
import { UploadPace } from './upload-pace.ts'

export interface UploaderDeps {
  fs: SyncFileSystem
  api: CoordinatorApi
  index: SyncIndex
  pipeline: ChunkPipeline
  secret: Uint8Array
  /** Retries a call while it fails with a retryable error (UNAVAILABLE, BUSY). */
  retry: <T>(call: () => Promise<T>) => Promise<T>
  now: () => number
  /** For keeping the cloud upload in step with LAN peers pulling it (UploadPace); none: no pacing. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Chunk PUTs in flight per file. */
  concurrency?: number
  /** Told of bytes chunked and bytes sent, for progress bars. */
  progress?: { hashed(bytes: number): void; sent(bytes: number): void }
}

export interface EncodedFile {
  manifest: Manifest
  plainHashes: string[]
  /** The plaintexts' CRC-32s, when this run encoded the file: re-reads check those. */
  plainChecks?: number[]
  stat: FileStat
}

export interface UploaderCounters {
  chunksSent: number
  bytesSent: number
  chunksDeduplicated: number
  commits: number
  /** Chunks the cloud upload and a peer pulling it got from one encryption. */
  encryptionsShared: number
}

/** Enough for the chunks an upload and a peer pulling it have in flight between them. */
const RECENT_CIPHERTEXT_BYTES = 32 * 1024 * 1024
/** The file changed while it was being read or sent: start over once it settles. */
export class FileChangedError extends Error {
  override readonly name = 'FileChangedError'
}

/**
 * Uploads one file version: chunk it, ask the coordinator which chunks it lacks, PUT
 * those in parallel, then complete. Every acknowledged chunk is checkpointed, so after a
 * crash the upload resumes and re-sends only what the store does not have.
 */
export class Uploader {
  /**
   * Files being uploaded right now, by local path. Registered before the coordinator hears
   * of the upload (its `pending` notice goes to the other devices at once), so LAN peers
   * can pull these chunks from this device while the cloud upload runs.
   */
  readonly inFlight = new Map<string, EncodedFile>()
  readonly counters: UploaderCounters = {
    chunksSent: 0,
    bytesSent: 0,
    chunksDeduplicated: 0,
    commits: 0,
    encryptionsShared: 0,
  }
  readonly #deps: UploaderDeps
  readonly #recent = new RecentCiphertexts(
    RECENT_CIPHERTEXT_BYTES,
    () => this.counters.encryptionsShared++,
  )
  /** Cloud PUTs and peers pulling the same upload, kept in step; none without a clock. */
  readonly #pace: UploadPace | undefined

  constructor(deps: UploaderDeps) {
    this.#deps = deps
    const { sleep } = deps
    this.#pace = sleep && new UploadPace({ now: deps.now, sleep })
  }

  /** Chunks and hashes the file. Undefined when it vanished; FileChangedError when it moved under us. */
  async encode(path: string, signal?: AbortSignal): Promise<EncodedFile | undefined> {
    const { fs, pipeline } = this.#deps
    const handle = await fs.openRead(path).catch((err) => {
      if (isCloudsyncError(err, 'NOT_FOUND')) return undefined
      throw err
    })
    if (!handle) return undefined
    try {
      const { manifest, plainHashes, plainChecks } = await pipeline.encode(handle.source, {
        sizeHint: handle.stat.size,
        signal,
      })
      const after = await fs.stat(path)
      if (!sameStat(after, handle.stat) || manifest.size !== handle.stat.size) {
        throw new FileChangedError(`${path} changed while it was being read`)
      }
      return { manifest, plainHashes, plainChecks, stat: handle.stat }
    } finally {
      await handle.close()
    }
  }

  /** Uploads the file read from `path`, to `remotePath` (the same path by default). */
  async upload(
    path: string,
    file: EncodedFile,
    baseVersion: number | null,
    signal?: AbortSignal,
    remotePath = path,
    /** The file `baseVersion` is a version of, when the device knows it. */
    baseFileId?: string,
  ): Promise<UploadCompleteResponse> {
    const { api, index, retry, now } = this.#deps
    const { manifest } = file
    this.inFlight.set(path, file)
    this.#pace?.begin(path)
    try {
      const session = await retry(() =>
        api.initUpload(
          { path: remotePath, ...manifest, baseVersion, ...(baseFileId && { baseFileId }) },
          signal,
        ),
      )
      this.counters.chunksDeduplicated += manifest.chunks.length - session.missing.length
      index.beginUpload({
        path,
        sessionId: session.sessionId,
        baseVersion,
        manifest,
        plainHashes: file.plainHashes,
        stat: file.stat,
        startedAt: now(),
      })
      await this.#send(path, file, session.sessionId, session.uploads, signal)
      return await this.#complete(path, file, session.sessionId, session.challenges ?? [], signal)
    } finally {
      this.inFlight.delete(path)
      this.#pace?.end(path)
      if (this.inFlight.size === 0) this.#recent.clear()
    }
  }

  /**
   * A chunk of a file being uploaded, for a peer that asked: re-read, checked against the
   * manifest and re-encrypted. Undefined when no upload in flight has it (or its file has
   * changed since it was chunked).
   */
  async servingChunk(id: string): Promise<Uint8Array | undefined> {
    for (const [path, file] of this.inFlight) {
      const index = file.manifest.chunks.findIndex((c) => c.id === id)
      if (index < 0) continue
      await this.#pace?.beforeServe(path, index)
      try {
        return await this.#recent.get(id, this.#ciphertextBytes(file, index), async () => {
          const handle = await this.#deps.fs.openRead(path)
          try {
            if (!sameStat(handle.stat, file.stat))
              throw new FileChangedError(`${path} changed during its upload`)
            return await this.#encrypt(handle, path, file, index)
          } finally {
            await handle.close()
          }
        })
      } catch (err) {
        if (!(err instanceof FileChangedError) && !isCloudsyncError(err)) throw err
      }
    }
    return undefined
  }

  /**
   * Finishes an upload a previous run started. Returns undefined (and forgets the
   * checkpoint) when the file changed since or the session is gone: the caller then
   * uploads the file afresh.
   */
  async resume(
    checkpoint: UploadCheckpoint,
    signal?: AbortSignal,
  ): Promise<UploadCompleteResponse | undefined> {
    const { api, index, fs, retry } = this.#deps
    const stat = await fs.stat(checkpoint.path)
    const status = await retry(() => api.uploadStatus(checkpoint.sessionId, signal)).catch(
      (err) => {
        if (isCloudsyncError(err, 'NOT_FOUND') || isCloudsyncError(err, 'GONE')) return undefined
        throw err
      },
    )
    const file = {
      manifest: checkpoint.manifest,
      plainHashes: checkpoint.plainHashes,
      stat: checkpoint.stat,
    }
    // Completing a committed session answers its result again (idempotent), no proofs needed.
    if (status?.state === 'committed')
      return this.#complete(checkpoint.path, file, checkpoint.sessionId, [], signal)
    if (status?.state !== 'open' || !sameStat(stat, checkpoint.stat)) {
      index.finishUpload(checkpoint.path)
      return undefined
    }
    await this.#send(checkpoint.path, file, checkpoint.sessionId, status.uploads, signal)
    return this.#complete(
      checkpoint.path,
      file,
      checkpoint.sessionId,
      status.challenges ?? [],
      signal,
    )
  }

  async #send(
    path: string,
    file: EncodedFile,
    sessionId: string,
    uploads: readonly ChunkUpload[],
    signal?: AbortSignal,
  ): Promise<void> {
    if (uploads.length === 0) return
    const { fs, api, index, retry } = this.#deps
    const handle = await fs.openRead(path)
    try {
      if (!sameStat(handle.stat, file.stat))
        throw new FileChangedError(`${path} changed before its upload`)
      // A chunk that recurs in the file (runs of zeros, repeated content) is asked for once
      // per index: its bytes go up once, and every index is acknowledged with them.
      const indexesOf = new Map<string, number[]>()
      const queue: ChunkUpload[] = []
      for (const upload of uploads) {
        const id = file.manifest.chunks[upload.index]?.id ?? `#${upload.index}`
        const same = indexesOf.get(id)
        if (same) same.push(upload.index)
        else {
          indexesOf.set(id, [upload.index])
          queue.push(upload)
        }
      }
      // The first failure stops the other workers before the handle closes.
      const failed = new AbortController()
      const stop = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal
      const worker = async () => {
        for (let upload = queue.shift(); upload && !stop.aborted; upload = queue.shift()) {
          await this.#pace?.beforeUpload(path, upload.index, stop)
          const { ciphertext, owned } = await this.#ciphertextAt(handle, path, file, upload.index)
          await retry(() => api.putChunk(upload, ciphertext, stop))
          const same = indexesOf.get(file.manifest.chunks[upload.index]!.id) ?? [upload.index]
          for (const i of same) index.ackChunk(sessionId, i)
          this.counters.chunksSent++
          this.counters.bytesSent += ciphertext.length
          this.#deps.progress?.sent((ciphertext.length - GCM_TAG_BYTES) * same.length)
          // Last: a released buffer has length 0.
          if (owned) releaseBytes(ciphertext)
        }
      }
      const workers = Math.min(this.#deps.concurrency ?? 4, uploads.length)
      const results = await Promise.allSettled(
        Array.from({ length: workers }, () =>
          worker().catch((err) => {
            failed.abort(err)
            throw err
          }),
        ),
      )
      this.#pace?.uploadSent(path)
      const failure = results.find((r) => r.status === 'rejected')
      if (failure) throw failure.reason
      signal?.throwIfAborted()
    } finally {
      await handle.close()
    }
  }

  /**
   * Chunk `index`'s ciphertext: re-read and re-encrypted, checked to be still the chunk the
   * manifest names, unless a peer's request for it just did that.
   */
  async #ciphertextAt(
    handle: ReadHandle,
    path: string,
    file: EncodedFile,
    index: number,
  ): Promise<{ ciphertext: Uint8Array; owned: boolean }> {
    const chunk = file.manifest.chunks[index]
    if (!chunk) {
      throw new CloudsyncError(
        'INVALID_INPUT',
        `Coordinator asked for chunk ${index}, which does not exist`,
      )
    }
    // Kept only while a peer pulls this file: a lone upload keeps nothing, and its
    // ciphertext is the caller's alone (to release once sent).
    const keep = this.#pace?.pulling(path) ?? false
    const owned = !keep && !this.#recent.has(chunk.id)
    const ciphertext = await this.#recent.get(
      chunk.id,
      this.#ciphertextBytes(file, index),
      () => this.#encrypt(handle, path, file, index),
      keep,
    )
    return { ciphertext, owned }
  }

  #ciphertextBytes(file: EncodedFile, index: number): number {
    return file.manifest.chunks[index]!.size + GCM_TAG_BYTES
  }

  async #encrypt(
    handle: ReadHandle,
    path: string,
    file: EncodedFile,
    index: number,
  ): Promise<Uint8Array> {
    const chunk = file.manifest.chunks[index]!
    const plaintext = await handle.readRange(chunk.offset, chunk.size)
    const ciphertext = reencryptChunk(
      this.#deps.secret,
      plaintext,
      file.plainHashes[index]!,
      file.plainChecks?.[index],
    )
    releaseBytes(plaintext)
    if (!ciphertext) throw new FileChangedError(`${path} changed during its upload`)
    return ciphertext
  }

  /**
   * Answers proof-of-possession challenges: in a global dedup domain, referencing a chunk
   * another account stored needs proof that this device holds its bytes.
   */
  async #prove(
    path: string,
    file: EncodedFile,
    challenges: readonly Challenge[],
  ): Promise<UploadCompleteRequest> {
    if (challenges.length === 0) return {}
    const handle = await this.#deps.fs.openRead(path)
    try {
      if (!sameStat(handle.stat, file.stat))
        throw new FileChangedError(`${path} changed before its upload`)
      const proofs = []
      for (const { index, nonce, offset, length } of challenges) {
        const { ciphertext } = await this.#ciphertextAt(handle, path, file, index)
        proofs.push({ index, response: possessionResponse(nonce, ciphertext, offset, length) })
      }
      return { proofs }
    } finally {
      await handle.close()
    }
  }

  async #complete(
    path: string,
    file: EncodedFile,
    sessionId: string,
    challenges: readonly Challenge[],
    signal?: AbortSignal,
  ): Promise<UploadCompleteResponse> {
    const request = await this.#prove(path, file, challenges)
    const result = await this.#deps.retry(() =>
      this.#deps.api.completeUpload(sessionId, request, signal),
    )
    this.counters.commits++
    return result
  }
}
