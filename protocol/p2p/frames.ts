import { MAX_CHUNKS_PER_REQUEST } from '../constants.ts'
import type { ChunkFailure } from './errors.ts'
import { frameTooLarge } from './errors.ts'
import {
  checkHeader,
  checkHello,
  checkRequest,
  encodeJson,
  type Hello,
  MAX_BODY_PAYLOAD,
  MAX_CONTROL_PAYLOAD,
  type ResponseHeader,
} from './messages.ts'
import { encodeVarint } from './varint.ts'

/**
 * Wire format of `/cloudsync/chunk/1.0.0`. Every frame is
 *
 *   varint(n) · kind (1 byte) · payload (n − 1 bytes)
 *
 * with n an unsigned LEB128 varint (what libp2p's length-prefixed streams use). Hello,
 * request and header payloads are UTF-8 JSON of at most MAX_CONTROL_PAYLOAD bytes; a body
 * payload is raw chunk ciphertext of at most MAX_BODY_PAYLOAD bytes and exactly the size
 * its header announced. Both sides send a hello first; the requester then sends requests,
 * and for each id in order the responder sends a header and, when ok, a body.
 */

export const FRAME_KIND = { hello: 1, request: 2, header: 3, body: 4 } as const
export type FrameKind = keyof typeof FRAME_KIND
export const KIND_BY_BYTE: ReadonlyMap<number, FrameKind> = new Map(
  Object.entries(FRAME_KIND).map(([k, v]) => [v, k as FrameKind]),
)

export const MAX_FRAME_LENGTH = MAX_BODY_PAYLOAD + 1

export function payloadLimit(kind: FrameKind): number {
  return kind === 'body' ? MAX_BODY_PAYLOAD : MAX_CONTROL_PAYLOAD
}

/** Length prefix and kind byte of a frame whose payload is sent separately. */
export function framePrefix(kind: FrameKind, payloadLength: number): Uint8Array {
  const limit = payloadLimit(kind)
  if (payloadLength > limit) throw frameTooLarge(kind, payloadLength, limit)
  const length = encodeVarint(payloadLength + 1)
  const prefix = new Uint8Array(length.length + 1)
  prefix.set(length)
  prefix[length.length] = FRAME_KIND[kind]
  return prefix
}

function controlFrame(kind: FrameKind, value: unknown): Uint8Array {
  const payload = encodeJson(value)
  const prefix = framePrefix(kind, payload.length)
  const frame = new Uint8Array(prefix.length + payload.length)
  frame.set(prefix)
  frame.set(payload, prefix.length)
  return frame
}

export function encodeHello(hello: Hello): Uint8Array {
  return controlFrame('hello', checkHello(hello))
}

export function encodeRequest(ids: readonly string[]): Uint8Array {
  if (ids.length > MAX_CHUNKS_PER_REQUEST) {
    throw frameTooLarge('request', ids.length, MAX_CHUNKS_PER_REQUEST)
  }
  return controlFrame('request', checkRequest({ ids: [...ids] }))
}

export function encodeHeader(header: ResponseHeader): Uint8Array {
  const { id, status, size } = checkHeader(header)
  return controlFrame('header', size === undefined ? { id, status } : { id, status, size })
}

/** A refusal for one chunk: a header alone. */
export function encodeFailure(id: string, status: ChunkFailure): Uint8Array {
  return encodeHeader({ id, status })
}

/**
 * An ok answer as three parts to write in order: header frame, body prefix, and the
 * ciphertext itself, passed through uncopied (chunks reach 64 MiB).
 */
export function encodeChunk(
  id: string,
  ciphertext: Uint8Array,
): [Uint8Array, Uint8Array, Uint8Array] {
  const header = encodeHeader({ id, status: 'ok', size: ciphertext.length })
  return [header, framePrefix('body', ciphertext.length), ciphertext]
}
