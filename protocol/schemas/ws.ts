import Type, { type Static, type TSchema } from 'typebox'
import { CloudsyncError } from '../errors.ts'
import { Manifest } from '../manifest.ts'
import { RemotePath } from '../paths.ts'
import { type Parser, parser } from '../validate.ts'
import { Cursor, DeviceId, ErrorDetail, IsoDateTime, MAX_SAFE, SessionId } from './common.ts'
import { DeviceInfo } from './devices.ts'
import { UploadBase } from './files.ts'
import { readJson } from './json.ts'
import { Change } from './sync.ts'

/**
 * WebSocket messages: JSON text frames with a `type` discriminator. The client opens with
 * `hello` (its cursor); the server answers `ready` once it has caught the client up to
 * that cursor's successors or handed over to `GET /sync/changes`, then pushes.
 */

const message = <T extends string, P extends Record<string, TSchema>>(type: T, fields: P) =>
  Type.Object({ type: Type.Literal(type), ...fields }, { additionalProperties: false })

/**
 * `replayAtMost`: the device starts from a snapshot rather than replay a long log
 * (`GET /sync/snapshot`). With it, a cursor of 0 below a non-empty log, or one more than
 * that many changes behind, is answered `behind` instead of the replay.
 */
export const HelloMessage = message('hello', {
  cursor: Cursor,
  replayAtMost: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SAFE })),
})
export type HelloMessage = Static<typeof HelloMessage>

export const ClientMessage = Type.Union([HelloMessage])
export type ClientMessage = Static<typeof ClientMessage>

export const ReadyMessage = message('ready', { cursor: Cursor })
/** The hello's cursor is too far behind `head` to replay: take a snapshot, then hello again. */
export const BehindMessage = message('behind', { cursor: Cursor, head: Cursor })
/** A committed change; `change.seq` is the device's new cursor. */
export const ChangeMessage = message('change', { change: Change })
/** An upload began: LAN peers may prefetch its chunks from the uploader. */
export const PendingMessage = message('pending', {
  sessionId: SessionId,
  path: RemotePath,
  deviceId: DeviceId,
  manifest: Manifest,
  expiresAt: IsoDateTime,
  /** What the upload is based on (docs/LAN-FIRST.md): a LAN device places it ahead of the commit only on that base. */
  base: Type.Optional(UploadBase),
})
export const PendingExpiredMessage = message('pending-expired', { sessionId: SessionId })
/** Sent when a device of the account comes online or goes offline. */
export const DevicesMessage = message('devices', {
  devices: Type.Array(DeviceInfo, { maxItems: 1000 }),
})
export const ErrorMessage = message('error', { error: ErrorDetail })

export type ReadyMessage = Static<typeof ReadyMessage>
export type BehindMessage = Static<typeof BehindMessage>
export type ChangeMessage = Static<typeof ChangeMessage>
export type PendingMessage = Static<typeof PendingMessage>
export type PendingExpiredMessage = Static<typeof PendingExpiredMessage>
export type DevicesMessage = Static<typeof DevicesMessage>
export type ErrorMessage = Static<typeof ErrorMessage>

export const ServerMessage = Type.Union([
  ReadyMessage,
  BehindMessage,
  ChangeMessage,
  PendingMessage,
  PendingExpiredMessage,
  DevicesMessage,
  ErrorMessage,
])
export type ServerMessage = Static<typeof ServerMessage>

type Parsers = Record<string, Parser<TSchema>>

// One parser per type: a union's first error is about whichever branch failed last.
const clientParsers: Parsers = { hello: parser(HelloMessage, 'hello message') }
const serverParsers: Parsers = Object.fromEntries(
  [
    ReadyMessage,
    BehindMessage,
    ChangeMessage,
    PendingMessage,
    PendingExpiredMessage,
    DevicesMessage,
    ErrorMessage,
  ].map((schema) => {
    const type = schema.properties.type.const as string
    return [type, parser(schema as TSchema, `${type} message`)]
  }),
)

function dispatch(raw: string | Uint8Array, parsers: Parsers, from: string): unknown {
  const value = readJson(raw, `${from} frame`)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CloudsyncError('INVALID_INPUT', `Invalid ${from} frame: not a JSON object`)
  }
  const type = (value as { type?: unknown }).type
  if (typeof type !== 'string') {
    throw new CloudsyncError('INVALID_INPUT', `Invalid ${from} frame: type is missing`, {
      field: 'type',
    })
  }
  const p = Object.hasOwn(parsers, type) ? parsers[type] : undefined
  if (!p) {
    const known = Object.keys(parsers).join(', ')
    throw new CloudsyncError(
      'INVALID_INPUT',
      `Unknown ${from} message type "${type.slice(0, 40)}" (known: ${known})`,
      {
        field: 'type',
      },
    )
  }
  return p.parse(value)
}

/** A frame a device sent, as the coordinator receives it. */
export function parseClientMessage(raw: string | Uint8Array): ClientMessage {
  return dispatch(raw, clientParsers, 'client') as ClientMessage
}

/** A frame the coordinator sent, as a device receives it. */
export function parseServerMessage(raw: string | Uint8Array): ServerMessage {
  return dispatch(raw, serverParsers, 'server') as ServerMessage
}

export function encodeMessage(msg: ClientMessage | ServerMessage): string {
  return JSON.stringify(msg)
}
