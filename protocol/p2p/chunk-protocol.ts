import type { KeyObject } from 'node:crypto'
import { type CertificatePayload, verifyCertificate } from '../certificates.ts'
import type { Hello } from './messages.ts'

/**
 * The peer-to-peer chunk protocol (`CHUNK_PROTOCOL`), transport-free: frame encoders, an
 * incremental decoder and the error mapping. The wire format is described in frames.ts.
 * A peer serves chunks only to devices of its own account, so every hello is checked with
 * `verifyHello` before any request is answered.
 */

export { decodeAll, type Frame, FrameDecoder, type Role } from './decoder.ts'
export {
  CHUNK_STATUSES,
  type ChunkFailure,
  type ChunkStatus,
  frameTooLarge,
  protocolError,
  statusError,
  statusForError,
} from './errors.ts'
export {
  encodeChunk,
  encodeFailure,
  encodeHeader,
  encodeHello,
  encodeRequest,
  FRAME_KIND,
  type FrameKind,
  framePrefix,
  MAX_FRAME_LENGTH,
} from './frames.ts'
export {
  CHUNK_PROTOCOL_VERSION,
  ChunkRequest,
  Hello,
  MAX_BODY_PAYLOAD,
  MAX_CONTROL_PAYLOAD,
  ResponseHeader,
} from './messages.ts'
export { decodeVarint, encodeVarint, MAX_VARINT_BYTES } from './varint.ts'

export interface HelloExpectations {
  now: number | Date
  /** The remote peer id of the connection (authenticated by noise). */
  remotePeerId: string
  /** This device's own account: only its devices may fetch. */
  accountId: string
}

/**
 * Accepts the other side's hello only if its certificate was signed by the coordinator,
 * is valid now, names the connection's peer id and this device's account.
 */
export function verifyHello(
  hello: Hello,
  coordinatorKey: KeyObject | string,
  expect: HelloExpectations,
): CertificatePayload {
  return verifyCertificate(hello.certificate, coordinatorKey, {
    now: expect.now,
    expectedPeerId: expect.remotePeerId,
    expectedAccountId: expect.accountId,
  })
}
