import { GCM_TAG_BYTES } from '../../protocol/constants.ts'
import { possessionResponse } from '../../protocol/crypto/possession.ts'
import { isCloudsyncError } from '../../protocol/errors.ts'
import { releaseBytes } from '../../protocol/memory/release-bytes.ts'
import type { ChunkPipeline } from '../../protocol/pipeline/encode.ts'
import type {
  Challenge,
  ChunkUpload,
  UploadCompleteRequest,
  UploadCompleteResponse,
} from '../../protocol/schemas/files.ts'
import type { CoordinatorApi } from '../ports/coordinator.ts'
import { type SyncFileSystem, sameStat } from '../ports/file-system.ts'
import type { SyncIndex, UploadCheckpoint } from '../ports/sync-index.ts'
import { trace } from '../trace.ts'
import { CloudRates } from './cloud-rate.ts'
import {
  type EncodedFile,
  FileChangedError,
  InFlightUploads,
  RECENT_CIPHERTEXT_BYTES,
} from './in-flight-uploads.ts'

export { type EncodedFile, FileChangedError } from './in-flight-uploads.ts'

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
  /**
   * The uploads in flight, shared with the chunk service that serves them to LAN peers;
   * the uploader makes its own when none is given (a one-off `put`).
   */
  uploads?: InFlightUploads
  /** Chunk PUTs in flight per file. */
  concurrency?: number
  /** Told of bytes chunked and bytes sent, for progress bars. */
  progress?: { hashed(bytes: number): void; sent(bytes: number): void }
  /**
   * Whether a LAN peer may pull this device's uploads now (the swarm knows one online):
   * the encoder then keeps the first chunks' ciphertexts for them and the cloud PUTs.
   */
  peersMayPull?: () => boolean
}

export interface UploaderCounters {
  chunksSent: number
  bytesSent: number
  chunksDeduplicated: number
  commits: number
  /** Chunks the cloud upload and a peer pulling it got from one encryption. */
  encryptionsShared: number
  /** Chunks read and encrypted again after their encode, for the cloud or a peer. */
  encryptedAgain: number
}

/**
 * Uploads one file version: chunk it, ask the coordinator which chunks it lacks, PUT
 * those in parallel, then complete. Every acknowledged chunk is checkpointed, so after a
 * crash the upload resumes and re-sends only what the store does not have.
 */
export class Uploader {
  /** Files being uploaded right now, and their chunks for LAN peers that pull them. */
  readonly uploads: InFlightUploads
  readonly counters: UploaderCounters = {
    chunksSent: 0,
    bytesSent: 0,
    chunksDeduplicated: 0,
    commits: 0,
    encryptionsShared: 0,
    encryptedAgain: 0,
  }
  /** How fast each upload's chunks are acknowledged by the cloud, for `status`'s ETA. */
  readonly cloudRates: CloudRates
  readonly #deps: UploaderDeps

  constructor(deps: UploaderDeps) {
    this.#deps = deps
    this.cloudRates = new CloudRates(deps.now)
    this.uploads = deps.uploads ?? new InFlightUploads(deps)
    this.uploads.onShared = () => this.counters.encryptionsShared++
    this.uploads.onEncrypted = () => this.counters.encryptedAgain++
  }

  /** Chunks and hashes the file. Undefined when it vanished; FileChangedError when it moved under us. */
  async encode(path: string, signal?: AbortSignal): Promise<EncodedFile | undefined> {
    const { fs, pipeline } = this.#deps
    const handle = await fs.openRead(path).catch((err) => {
      if (isCloudsyncError(err, 'NOT_FOUND')) return undefined
      throw err
    })
    if (!handle) return undefined
    trace('encode-start', { path, bytes: handle.stat.size })
    // The chunks a peer and the cloud PUTs ask for first were just encrypted here: kept
    // (up to the shared cache's budget), they are not read and encrypted a second time.
    const ciphertexts = new Map<number, Uint8Array>()
    let kept = 0
    const keep = this.#deps.peersMayPull?.() ?? false
    try {
      const { manifest, plainHashes, plainChecks } = await pipeline.encode(handle.source, {
        sizeHint: handle.stat.size,
        signal,
        ...(keep && {
          keepCiphertext: ({ size }) => {
            kept += size + GCM_TAG_BYTES
            return kept <= RECENT_CIPHERTEXT_BYTES
          },
          onChunk: ({ index, ciphertext }) => {
            if (ciphertext) ciphertexts.set(index, ciphertext)
          },
        }),
      })
      trace('encode-end', { path, chunks: manifest.chunks.length })
      const after = await fs.stat(path)
      if (!sameStat(after, handle.stat) || manifest.size !== handle.stat.size) {
        throw new FileChangedError(`${path} changed while it was being read`)
      }
      const file: EncodedFile = { manifest, plainHashes, plainChecks, stat: handle.stat }
      if (ciphertexts.size > 0) file.ciphertexts = ciphertexts
      return file
    } catch (err) {
      for (const ciphertext of ciphertexts.values()) releaseBytes(ciphertext)
      throw err
    } finally {
      await handle.close()
    }
  }

  /** Gives back the ciphertexts `encode` kept, when no upload took them. */
  release(file: EncodedFile): void {
    for (const ciphertext of file.ciphertexts?.values() ?? []) releaseBytes(ciphertext)
    file.ciphertexts = undefined
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
    this.uploads.begin(path, file)
    try {
      trace('init-sent', { path })
      const session = await retry(() =>
        api.initUpload(
          { path: remotePath, ...manifest, baseVersion, ...(baseFileId && { baseFileId }) },
          signal,
        ),
      )
      trace('init-answered', { path, missing: session.missing.length })
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
      this.uploads.end(path)
    }
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
    this.cloudRates.start(sessionId)
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
          await this.uploads.beforeUpload(path, upload.index, stop)
          const { ciphertext, owned } = await this.uploads.ciphertextAt(
            handle,
            path,
            file,
            upload.index,
          )
          await retry(() => api.putChunk(upload, ciphertext, stop))
          const same = indexesOf.get(file.manifest.chunks[upload.index]!.id) ?? [upload.index]
          let acked = 0
          for (const i of same) {
            index.ackChunk(sessionId, i)
            acked += file.manifest.chunks[i]!.size
          }
          this.cloudRates.acked(sessionId, acked)
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
      this.uploads.uploadSent(path)
      const failure = results.find((r) => r.status === 'rejected')
      if (failure) throw failure.reason
      signal?.throwIfAborted()
    } finally {
      this.cloudRates.end(sessionId)
      await handle.close()
    }
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
        const { ciphertext } = await this.uploads.ciphertextAt(handle, path, file, index)
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
