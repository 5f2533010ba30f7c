import type { CloudsyncError } from '../errors.ts'
import { frameTooLarge, protocolError } from './errors.ts'
import { type FrameKind, KIND_BY_BYTE, MAX_FRAME_LENGTH, payloadLimit } from './frames.ts'
import {
  type ChunkRequest,
  checkHeader,
  checkHello,
  checkRequest,
  decodeControl,
  type Hello,
  type ResponseHeader,
} from './messages.ts'
import { decodeVarint } from './varint.ts'

export type Frame =
  | { kind: 'hello'; hello: Hello }
  | { kind: 'request'; request: ChunkRequest }
  | { kind: 'header'; header: ResponseHeader }
  | { kind: 'body'; id: string; bytes: Uint8Array }

/** A requester reads hello, headers and bodies; a responder reads hello and requests. */
export type Role = 'requester' | 'responder'

const ALLOWED: Record<Role, ReadonlySet<FrameKind>> = {
  requester: new Set(['hello', 'header', 'body']),
  responder: new Set(['hello', 'request']),
}

/**
 * Incremental decoder: feed bytes in any split, get complete, checked frames out. It
 * enforces the protocol as it goes (hello first and once, bodies only after an ok header
 * and of its size, answers in the requested order), refuses oversize frames from their
 * length prefix before buffering them, and stays failed after its first error.
 */
export class FrameDecoder {
  readonly role: Role
  #prefix: number[] = []
  #length: number | undefined
  #kind: FrameKind | undefined
  #payload: Uint8Array | undefined
  #filled = 0
  #helloSeen = false
  #expected: string[] = []
  #owedBody: { id: string; size: number } | undefined
  #failed: CloudsyncError | undefined

  constructor(role: Role) {
    this.role = role
  }

  /** Requester: the ids of a request just sent, whose answers must come in this order. */
  expect(ids: readonly string[]): void {
    this.#expected.push(...ids)
  }

  /** Ids still owed an answer (requester). */
  get pending(): readonly string[] {
    return this.#expected
  }

  push(bytes: Uint8Array): Frame[] {
    if (this.#failed) throw this.#failed
    try {
      return this.#consume(bytes)
    } catch (err) {
      this.#failed = err as CloudsyncError
      throw err
    }
  }

  /** The stream ended: throws if it ended inside a frame or before every answer. */
  end(): void {
    if (this.#failed) throw this.#failed
    if (this.#prefix.length > 0 || this.#length !== undefined) {
      throw protocolError('stream ended inside a frame (truncated)')
    }
    if (this.#owedBody)
      throw protocolError(`stream ended before the body of chunk ${this.#owedBody.id}`)
    if (this.#expected.length > 0) {
      throw protocolError(`stream ended with ${this.#expected.length} chunk(s) unanswered`, {
        pending: this.#expected.length,
      })
    }
  }

  #consume(bytes: Uint8Array): Frame[] {
    const frames: Frame[] = []
    let i = 0
    while (i < bytes.length) {
      if (this.#length === undefined) {
        this.#prefix.push(bytes[i++]!)
        const varint = decodeVarint(Uint8Array.from(this.#prefix))
        if (!varint) continue
        this.#prefix = []
        if (varint.value === 0) throw protocolError('empty frame (no kind byte)')
        if (varint.value > MAX_FRAME_LENGTH) {
          throw frameTooLarge('frame', varint.value - 1, MAX_FRAME_LENGTH - 1)
        }
        this.#length = varint.value
      } else if (this.#kind === undefined) {
        this.#start(bytes[i++]!, this.#length - 1)
      } else {
        const payload = this.#payload!
        const n = Math.min(payload.length - this.#filled, bytes.length - i)
        payload.set(bytes.subarray(i, i + n), this.#filled)
        this.#filled += n
        i += n
      }
      if (this.#kind !== undefined && this.#filled === this.#payload!.length)
        frames.push(this.#finish())
    }
    return frames
  }

  /** Checks a frame from its kind and length alone, before any payload is buffered. */
  #start(kindByte: number, length: number): void {
    const kind = KIND_BY_BYTE.get(kindByte)
    if (!kind) throw protocolError(`unknown frame kind ${kindByte}`)
    if (length > payloadLimit(kind)) throw frameTooLarge(kind, length, payloadLimit(kind))
    if (!ALLOWED[this.role].has(kind))
      throw protocolError(`a ${this.role} does not accept ${kind} frames`)
    if (!this.#helloSeen && kind !== 'hello') throw protocolError(`${kind} frame before hello`)
    if (this.#helloSeen && kind === 'hello') throw protocolError('second hello')
    if (kind === 'body') {
      if (!this.#owedBody) throw protocolError('body frame without an ok header')
      if (length !== this.#owedBody.size) {
        throw protocolError(
          `body of chunk ${this.#owedBody.id} is ${length} bytes, header said ${this.#owedBody.size}`,
        )
      }
    } else if (this.#owedBody) {
      throw protocolError(`${kind} frame where the body of chunk ${this.#owedBody.id} was due`)
    }
    this.#kind = kind
    // Unfilled, and not from Node's pool: every byte is written before the frame is
    // handed out, and a body (a chunk, megabytes) is released whole by its taker.
    const unfilled = Buffer.allocUnsafeSlow(length)
    this.#payload = new Uint8Array(unfilled.buffer, unfilled.byteOffset, length)
    this.#filled = 0
  }

  #finish(): Frame {
    const kind = this.#kind!
    const payload = this.#payload!
    this.#length = undefined
    this.#kind = undefined
    this.#payload = undefined
    this.#filled = 0
    switch (kind) {
      case 'hello':
        this.#helloSeen = true
        return { kind, hello: decodeControl(payload, 'chunk-protocol hello', checkHello) }
      case 'request':
        return { kind, request: decodeControl(payload, 'chunk request', checkRequest) }
      case 'header':
        return {
          kind,
          header: this.#acceptHeader(decodeControl(payload, 'chunk response header', checkHeader)),
        }
      case 'body': {
        const { id } = this.#owedBody!
        this.#owedBody = undefined
        return { kind, id, bytes: payload }
      }
    }
  }

  #acceptHeader(header: ResponseHeader): ResponseHeader {
    const due = this.#expected[0]
    if (due === undefined)
      throw protocolError(`answer for chunk ${header.id} that was not requested`)
    if (header.id !== due) throw protocolError(`answer for chunk ${header.id} where ${due} was due`)
    this.#expected.shift()
    if (header.status === 'ok') this.#owedBody = { id: header.id, size: header.size! }
    return header
  }
}

/** Decodes a complete byte string (tests, small buffers): every frame, then `end()`. */
export function decodeAll(
  bytes: Uint8Array,
  role: Role,
  expected: readonly string[] = [],
): Frame[] {
  const decoder = new FrameDecoder(role)
  decoder.expect(expected)
  const frames = decoder.push(bytes)
  decoder.end()
  return frames
}
