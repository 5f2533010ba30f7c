import { createHash } from 'node:crypto'
import { Chunker } from '../chunking/chunker.ts'
import { deriveGearTable } from '../chunking/gear.ts'
import type { ChunkingOptions } from '../chunking/options.ts'
import { GCM_TAG_BYTES } from '../constants.ts'
import { contentHash } from '../crypto/keys.ts'
import type { Manifest, ManifestChunk } from '../manifest.ts'
import type { ByteSource } from './byte-source.ts'
import { inlineExecutor, workerPool } from './executors.ts'
import type { ChunkExecutor, ChunkJobResult } from './jobs.ts'
import { OrderedEmitter } from './ordered-emitter.ts'
import { SlabPool } from './slabs.ts'

export interface PipelineOptions {
  /** The dedup domain's secret: keys the gear table, the chunk keys and the content hash. */
  secret: Uint8Array
  chunking?: Partial<ChunkingOptions>
  /** Worker threads for large files; 0 keeps everything on the calling thread. */
  workers?: number
  /** Shared read buffers, each one and a half max-size chunks; the pipeline's memory bound. */
  slabs?: number
  /**
   * Worker threads idle this long are ended, and started again for the next large file:
   * an idle worker never collects its garbage, so it would keep its isolate and the last
   * file's ciphertext slices (tens of MB each) for as long as the process lives. Short by
   * default: a large file's upload follows its encoding, and should not run beside ~150 MB
   * of idle workers and slabs; starting them again costs about 50 ms per large file.
   */
  idleWorkersMs?: number
}

export interface EncodedChunk extends ManifestChunk {
  plainHash: string
  plainCheck: number
  ciphertext?: Uint8Array
}

export interface EncodeOptions {
  /**
   * Keep each chunk's ciphertext for `onChunk` (to upload it); otherwise only its id. A
   * function decides chunk by chunk, asked once per chunk in index order.
   */
  keepCiphertext?: boolean | ((chunk: { index: number; size: number }) => boolean)
  /** Called once per chunk in index order; the pipeline waits for it (backpressure). */
  onChunk?: (chunk: EncodedChunk) => void | Promise<void>
  /** Also compute the plain SHA-256 of the whole file (a third SHA pass: ~25% slower). */
  plainSha256?: boolean
  /** Files this small skip the worker threads (their start-up costs more than they save). */
  sizeHint?: number
  signal?: AbortSignal
}

export interface EncodeResult {
  manifest: Manifest
  /** Plain SHA-256 of the whole file, hex, when asked for: stays on the device. */
  sha256?: string
  /** Plaintext hash of each chunk, hex, by index: stays on the device too. */
  plainHashes: string[]
  /** CRC-32 of each chunk's plaintext, by index: to check a re-read cheaply (reencryptChunk). */
  plainChecks: number[]
}

/** After encoding a file this large, the workers and slabs are released at once. */
const RELEASE_AT_ONCE_BYTES = 256 * 1024 * 1024

/** Bytes requested per read: large enough to amortise the system call, small enough for L2-ish reuse. */
const READ_SIZE = 4 * 1024 * 1024

/**
 * Turns a file into its manifest and encrypted chunks in one pass over the bytes: the
 * calling thread reads into shared slabs and finds cut points, while worker threads hash and encrypt finished chunks. Memory stays bounded by the
 * slabs and the number of chunks allowed in flight.
 */
export class ChunkPipeline {
  readonly #secret: Uint8Array
  readonly #chunker: Chunker
  readonly #slabCount: number
  /** Made on first use, dropped with the workers when idle: a large file touches every
   * page of every slab, and the daemon should not keep that resident between files. */
  #slabs: SlabPool | undefined
  readonly #workers: number
  readonly #idleWorkersMs: number
  #pool: ChunkExecutor | undefined
  #idleTimer: NodeJS.Timeout | undefined
  #inline: ChunkExecutor | undefined
  #busy = false

  constructor(options: PipelineOptions) {
    this.#secret = options.secret
    this.#chunker = new Chunker(deriveGearTable(options.secret), options.chunking)
    this.#workers = options.workers ?? 2
    this.#idleWorkersMs = options.idleWorkersMs ?? 250
    this.#slabCount = Math.max(2, options.slabs ?? 3)
  }

  #slabPool(): SlabPool {
    // A chunk still being cut is never longer than maxSize (that is where the chunker cuts
    // at the latest), so half as much again leaves room for reads after it before it has
    // to move to the next slab. (Twice maxSize cost 24 MiB more per slab and was no faster.)
    const { maxSize } = this.#chunker.params
    this.#slabs ??= new SlabPool(this.#slabCount, maxSize + Math.ceil(maxSize / 2))
    return this.#slabs
  }

  async encode(source: ByteSource, options: EncodeOptions = {}): Promise<EncodeResult> {
    if (this.#busy)
      throw new Error(
        'ChunkPipeline.encode is already running; use one pipeline per concurrent file',
      )
    this.#busy = true
    clearTimeout(this.#idleTimer)
    let encoded = 0
    try {
      const result = await this.#encode(source, options)
      encoded = result.manifest.size
      return result
    } finally {
      this.#busy = false
      if (encoded >= RELEASE_AT_ONCE_BYTES) {
        // Its upload starts now and reads the file again: the workers and slabs would only
        // add to its peak. Starting them again is nothing beside a file this large.
        void this.close().catch(() => {})
      } else if (this.#pool) {
        this.#idleTimer = setTimeout(() => void this.close().catch(() => {}), this.#idleWorkersMs)
        this.#idleTimer.unref()
      }
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer)
    // Detached first: an encode starting meanwhile gets fresh workers, not closing ones.
    const pool = this.#pool
    this.#pool = undefined
    // The slabs go too (the executors read them): the next encode makes fresh ones.
    this.#inline = undefined
    this.#slabs = undefined
    await pool?.close()
  }

  #executor(sizeHint: number | undefined): ChunkExecutor {
    const small = sizeHint !== undefined && sizeHint <= 2 * this.#chunker.params.avgSize
    if (this.#workers === 0 || small) {
      this.#inline ??= inlineExecutor(this.#slabPool().buffers, this.#secret)
      return this.#inline
    }
    this.#pool ??= workerPool(this.#slabPool().buffers, this.#secret, this.#workers)
    return this.#pool
  }

  async #encode(source: ByteSource, options: EncodeOptions): Promise<EncodeResult> {
    const { keepCiphertext = false, onChunk, signal } = options
    const executor = this.#executor(options.sizeHint)
    const slabs = this.#slabPool()
    const chunker = this.#chunker
    chunker.reset()
    const fileHash = options.plainSha256 ? createHash('sha256') : undefined
    const emitter = new OrderedEmitter(onChunk, 2 * Math.max(1, this.#workers) + 2, withoutBytes)
    let nextIndex = 0
    let fileOffset = 0

    const dispatch = async (slab: number, start: number, end: number) => {
      await emitter.room()
      const index = nextIndex++
      const length = end - start
      const keep =
        typeof keepCiphertext === 'function'
          ? keepCiphertext({ index, size: length })
          : keepCiphertext
      const job = { index, slab, offset: start, length, keepCiphertext: keep }
      const chunkOffset = fileOffset
      fileOffset += job.length
      slabs.retain(slab)
      emitter.track(
        executor.run(job).finally(() => slabs.release(slab)),
        (r) => toEncodedChunk(r, chunkOffset, job.length),
      )
    }

    let slab = await slabs.acquire()
    let fill = 0
    let chunkStart = 0
    try {
      for (;;) {
        signal?.throwIfAborted()
        emitter.throwIfFailed()
        if (fill === slabs.size) {
          // The chunk in progress moves to a fresh slab; the old one frees once its chunks are encrypted.
          const next = await slabs.acquire()
          slabs
            .view(next, 0, fill - chunkStart)
            .set(slabs.view(slab, chunkStart, fill - chunkStart))
          slabs.release(slab)
          slab = next
          fill -= chunkStart
          chunkStart = 0
        }
        const into = slabs.view(slab, fill, Math.min(READ_SIZE, slabs.size - fill))
        const n = await source.readInto(into)
        if (n === 0) break
        const bytes = into.subarray(0, n)
        fileHash?.update(bytes)
        for (const cut of chunker.push(bytes)) {
          await dispatch(slab, chunkStart, fill + cut)
          chunkStart = fill + cut
        }
        fill += n
      }
      if (fill > chunkStart) await dispatch(slab, chunkStart, fill)
    } finally {
      slabs.release(slab)
      chunker.reset()
      await emitter.settle()
    }
    emitter.throwIfFailed()

    const chunks = emitter.emitted
    const plainHashes = chunks.map((c) => c.plainHash)
    return {
      manifest: {
        size: fileOffset,
        hash: contentHash(
          this.#secret,
          plainHashes.map((h) => Buffer.from(h, 'hex')),
        ),
        chunks: chunks.map(({ plainHash: _, plainCheck: __, ...ref }) => ref),
      },
      plainHashes,
      plainChecks: chunks.map((c) => c.plainCheck),
      ...(fileHash && { sha256: fileHash.digest('hex') }),
    }
  }
}

/** Keep the chunk's place in the manifest, not its bytes: the consumer owns those now. */
function withoutBytes(chunk: EncodedChunk): EncodedChunk {
  const { ciphertext: _, ...ref } = chunk
  return ref
}

function toEncodedChunk(r: ChunkJobResult, offset: number, size: number): EncodedChunk {
  return {
    index: r.index,
    id: r.id,
    offset,
    size,
    cipherSize: size + GCM_TAG_BYTES,
    seal: r.seal,
    plainHash: r.plainHash,
    plainCheck: r.plainCheck,
    ...(r.ciphertext && { ciphertext: r.ciphertext }),
  }
}
