/**
 * The files this device is uploading right now, and their chunks' ciphertexts for the two
 * who ask for them: the uploader's cloud PUTs, and LAN peers pulling the upload (streaming
 * sync) through the chunk service. Both ask for the same chunks, often at about the same time;
 * they share one read and one encryption (RecentCiphertexts), kept in step (UploadPace).
 */
import { GCM_TAG_BYTES } from '../../protocol/constants.ts'
import { reencryptChunk } from '../../protocol/crypto/chunk-cipher.ts'
import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
import type { Manifest } from '../../protocol/manifest.ts'
import { releaseBytes } from '../../protocol/memory/release-bytes.ts'
import type { FileStat, ReadHandle, SyncFileSystem } from '../ports/file-system.ts'
import { sameStat } from '../ports/file-system.ts'
import type { ChunkProvider } from '../swarm/chunk-service.ts'
import { trace } from '../trace.ts'
import { RecentCiphertexts } from './recent-ciphertexts.ts'
import { UploadPace } from './upload-pace.ts'

export interface EncodedFile {
  manifest: Manifest
  plainHashes: string[]
  /** The plaintexts' CRC-32s, when this run encoded the file: re-reads check those. */
  plainChecks?: number[]
  stat: FileStat
  /**
   * The first chunks' ciphertexts, by index, as the encoder made them (Uploader.encode):
   * handed to the shared cache when the upload begins, so neither the cloud PUTs nor a
   * LAN peer encrypts those chunks again.
   */
  ciphertexts?: Map<number, Uint8Array>
}

/** The file changed while it was being read or sent: start over once it settles. */
export class FileChangedError extends Error {
  override readonly name = 'FileChangedError'
}

export interface InFlightUploadsInit {
  fs: SyncFileSystem
  secret: Uint8Array
  now: () => number
  /** For keeping the cloud upload in step with LAN peers pulling it; none: no pacing. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/** Enough for the chunks an upload and a peer pulling it have in flight between them. */
export const RECENT_CIPHERTEXT_BYTES = 32 * 1024 * 1024

export class InFlightUploads implements ChunkProvider {
  /**
   * By local path. Registered before the coordinator hears of the upload (its `pending`
   * notice goes to the other devices at once), so LAN peers can pull these chunks from
   * this device while the cloud upload runs.
   */
  readonly files = new Map<string, EncodedFile>()
  /** Told each time the cloud upload and a peer got a chunk from one encryption. */
  onShared: () => void = () => {}
  /** Told each time a chunk is read and encrypted again (the encoder's ciphertext was not kept). */
  onEncrypted: () => void = () => {}
  readonly #init: InFlightUploadsInit
  readonly #recent: RecentCiphertexts
  /** Cloud PUTs and peers pulling the same upload, kept in step; none without a clock. */
  readonly #pace: UploadPace | undefined

  constructor(init: InFlightUploadsInit) {
    this.#init = init
    this.#recent = new RecentCiphertexts(RECENT_CIPHERTEXT_BYTES, () => this.onShared())
    const { sleep } = init
    this.#pace = sleep && new UploadPace({ now: init.now, sleep })
  }

  begin(path: string, file: EncodedFile): void {
    this.files.set(path, file)
    this.#pace?.begin(path)
    // The cache owns them now: one that does not fit is given back at once.
    for (const [index, ciphertext] of file.ciphertexts ?? []) {
      const id = file.manifest.chunks[index]?.id
      if (!id || !this.#recent.offer(id, ciphertext)) releaseBytes(ciphertext)
    }
    file.ciphertexts = undefined
  }

  end(path: string): void {
    this.files.delete(path)
    this.#pace?.end(path)
    if (this.files.size === 0) this.#recent.clear()
  }

  /** Waits (bounded) until the cloud upload may start on chunk `index` (UploadPace). */
  async beforeUpload(path: string, index: number, signal: AbortSignal): Promise<void> {
    await this.#pace?.beforeUpload(path, index, signal)
  }

  /** The cloud upload has sent every chunk: peers no longer wait for it. */
  uploadSent(path: string): void {
    this.#pace?.uploadSent(path)
  }

  /**
   * A chunk of a file being uploaded, for a peer that asked: re-read, checked against the
   * manifest and re-encrypted. Undefined when no upload in flight has it (or its file has
   * changed since it was chunked).
   */
  async read(id: string): Promise<Uint8Array | undefined> {
    for (const [path, file] of this.files) {
      const index = file.manifest.chunks.findIndex((c) => c.id === id)
      if (index < 0) continue
      this.#pace?.beforeServe(path, index)
      trace('serve', { path, index })
      try {
        return await this.#recent.get(id, ciphertextBytes(file, index), async () => {
          const handle = await this.#init.fs.openRead(path)
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
   * Chunk `index`'s ciphertext for the cloud upload: re-read and re-encrypted, checked to
   * be still the chunk the manifest names, unless a peer's request for it just did that.
   * `owned`: the caller alone holds it, and may release it once sent.
   */
  async ciphertextAt(
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
      ciphertextBytes(file, index),
      () => this.#encrypt(handle, path, file, index),
      keep,
    )
    return { ciphertext, owned }
  }

  async #encrypt(
    handle: ReadHandle,
    path: string,
    file: EncodedFile,
    index: number,
  ): Promise<Uint8Array> {
    const chunk = file.manifest.chunks[index]!
    this.onEncrypted()
    trace('encrypt-again', { path, index })
    const plaintext = await handle.readRange(chunk.offset, chunk.size)
    const ciphertext = reencryptChunk(
      this.#init.secret,
      plaintext,
      file.plainHashes[index]!,
      file.plainChecks?.[index],
    )
    releaseBytes(plaintext)
    if (!ciphertext) throw new FileChangedError(`${path} changed during its upload`)
    return ciphertext
  }
}

function ciphertextBytes(file: EncodedFile, index: number): number {
  return file.manifest.chunks[index]!.size + GCM_TAG_BYTES
}
