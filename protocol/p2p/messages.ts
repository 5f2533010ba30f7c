import Type, { type Static } from 'typebox'
import { DeviceCertificate } from '../certificates.ts'
import { CHUNK_SIZE_CEILING, GCM_TAG_BYTES, KiB, MAX_CHUNKS_PER_REQUEST } from '../constants.ts'
import { Sha256Hex } from '../manifest.ts'
import { readJson } from '../schemas/json.ts'
import { parser } from '../validate.ts'
import { CHUNK_STATUSES, protocolError } from './errors.ts'

/** Control messages of the chunk protocol (JSON payloads) and their limits. */

export const CHUNK_PROTOCOL_VERSION = 1
/** Hello, request and header frames: a request of 64 ids is ~4.5 KB of JSON. */
export const MAX_CONTROL_PAYLOAD = 16 * KiB
/** A chunk's ciphertext: the largest chunk plus its GCM tag. */
export const MAX_BODY_PAYLOAD = CHUNK_SIZE_CEILING + GCM_TAG_BYTES

/** Each side's first frame: who it is, as the coordinator certified it. */
export const Hello = Type.Object(
  { version: Type.Literal(CHUNK_PROTOCOL_VERSION), certificate: DeviceCertificate },
  { additionalProperties: false },
)
export type Hello = Static<typeof Hello>

/** Chunk ids (SHA-256 of ciphertext) wanted, answered in this order. */
export const ChunkRequest = Type.Object(
  { ids: Type.Array(Sha256Hex, { minItems: 1, maxItems: MAX_CHUNKS_PER_REQUEST }) },
  { additionalProperties: false },
)
export type ChunkRequest = Static<typeof ChunkRequest>

/** Precedes each answer; `size` (only with `ok`) is the length of the body frame that follows. */
export const ResponseHeader = Type.Object(
  {
    id: Sha256Hex,
    status: Type.Enum([...CHUNK_STATUSES]),
    size: Type.Optional(Type.Integer({ minimum: 1 + GCM_TAG_BYTES, maximum: MAX_BODY_PAYLOAD })),
  },
  { additionalProperties: false },
)
export type ResponseHeader = Static<typeof ResponseHeader>

const helloShape = parser(Hello, 'chunk-protocol hello')
const requestShape = parser(ChunkRequest, 'chunk request')
const headerShape = parser(ResponseHeader, 'chunk response header')

const encoder = new TextEncoder()

export const encodeJson = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))

export const checkHello = (value: unknown): Hello => helloShape.parse(value)
export const checkRequest = (value: unknown): ChunkRequest => requestShape.parse(value)

export function checkHeader(value: unknown): ResponseHeader {
  const header = headerShape.parse(value)
  if (header.status === 'ok' && header.size === undefined) {
    throw protocolError(`ok header for chunk ${header.id} has no size`, { field: 'size' })
  }
  if (header.status !== 'ok' && header.size !== undefined) {
    throw protocolError(`${header.status} header for chunk ${header.id} has a size`, {
      field: 'size',
    })
  }
  return header
}

/** JSON payload bytes of a control frame to a checked message. */
export function decodeControl<T>(payload: Uint8Array, what: string, check: (v: unknown) => T): T {
  return check(readJson(payload, what))
}
