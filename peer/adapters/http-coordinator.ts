/**
 * CoordinatorApi over HTTP: one method per route, bearer credential, JSON bodies, every
 * answer checked against its protocol schema before the caller sees it. Errors follow
 * http-request.ts: the server's code on a 4xx, UNAVAILABLE (retry) when it is unreachable.
 */
import type { TSchema } from 'typebox'
import { CHUNK_SIZE_CEILING, GCM_TAG_BYTES } from '../../protocol/constants.ts'
import {
  DeviceList,
  InviteResponse,
  LinkDeviceRequest,
  LinkDeviceResponse,
  RenewCertificateResponse,
} from '../../protocol/schemas/devices.ts'
import {
  type ChunkUpload,
  DownloadResponse,
  FileMetadata,
  FileSummary,
  ListFilesResponse,
  PendingUploadsResponse,
  type UploadCompleteRequest,
  UploadCompleteResponse,
  type UploadInitRequest,
  UploadInitResponse,
  UploadStatusResponse,
} from '../../protocol/schemas/files.ts'
import { HistoryResponse } from '../../protocol/schemas/history.ts'
import {
  ChangesResponse,
  CoordinatorList,
  type SnapshotQuery,
  SnapshotResponse,
} from '../../protocol/schemas/sync.ts'
import { type Parser, parser } from '../../protocol/validate.ts'
import type { CoordinatorApi } from '../ports/coordinator.ts'
import type { Pace } from '../ports/pace.ts'
import { CoordinatorEndpoints, isUnreachable } from './endpoints.ts'
import { type HttpTransport, httpCall, parseAnswer } from './http-request.ts'

export interface HttpCoordinatorOptions {
  /** e.g. `http://127.0.0.1:8080`; a path prefix is kept. */
  baseUrl?: string
  /** Several instances instead of one: an instance that does not answer is left for the
   * next (endpoints.ts). */
  endpoints?: CoordinatorEndpoints
  /** The device credential from linking. */
  credential: string
  /** Per JSON request (a long poll gets its wait on top). */
  timeoutMs?: number
  /** Per chunk PUT or GET: up to 64 MiB on a slow link. */
  chunkTimeoutMs?: number
  /** What carries the calls: node:http by default, a simulated network in the simulator. */
  transport?: HttpTransport
  /** The cloud rate limits, on chunk bodies PUT and GET. */
  pace?: { up?: Pace; down?: Pace }
}

export const DEFAULT_TIMEOUT_MS = 30_000
export const DEFAULT_CHUNK_TIMEOUT_MS = 300_000
/** The largest ciphertext a chunk can have; a presigned GET answering more is refused. */
export const MAX_CHUNK_BYTES = CHUNK_SIZE_CEILING + GCM_TAG_BYTES
/** A 65,536-chunk manifest is ~17 MiB of JSON; a page of 1,000 changes can be larger. */
const MAX_JSON_BYTES = 256 * 1024 * 1024

const answers = {
  init: parser(UploadInitResponse, 'upload init answer'),
  status: parser(UploadStatusResponse, 'upload status answer'),
  pending: parser(PendingUploadsResponse, 'pending uploads answer'),
  complete: parser(UploadCompleteResponse, 'upload complete answer'),
  download: parser(DownloadResponse, 'download answer'),
  metadata: parser(FileMetadata, 'file metadata'),
  summary: parser(FileSummary, 'file summary'),
  list: parser(ListFilesResponse, 'file list'),
  history: parser(HistoryResponse, 'path history'),
  changes: parser(ChangesResponse, 'changes answer'),
  snapshot: parser(SnapshotResponse, 'snapshot answer'),
  devices: parser(DeviceList, 'device list'),
  coordinators: parser(CoordinatorList, 'coordinator list'),
  invite: parser(InviteResponse, 'invite answer'),
  link: parser(LinkDeviceResponse, 'link answer'),
  certificate: parser(RenewCertificateResponse, 'certificate answer'),
}
const linkRequest = parser(LinkDeviceRequest, 'link request')

type Query = Record<string, string | number | undefined>

export class HttpCoordinator implements CoordinatorApi {
  readonly endpoints: CoordinatorEndpoints
  readonly #auth: string
  readonly #timeoutMs: number
  readonly #chunkTimeoutMs: number
  readonly #call: HttpTransport
  readonly #pace: HttpCoordinatorOptions['pace']

  constructor(options: HttpCoordinatorOptions) {
    this.endpoints = options.endpoints ?? new CoordinatorEndpoints([options.baseUrl ?? ''])
    this.#call = options.transport ?? httpCall
    this.#auth = `Bearer ${options.credential}`
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.#chunkTimeoutMs = options.chunkTimeoutMs ?? DEFAULT_CHUNK_TIMEOUT_MS
    this.#pace = options.pace
  }

  initUpload(request: UploadInitRequest, signal?: AbortSignal) {
    return this.#json('POST', '/files/upload/init', answers.init, { body: request, signal })
  }

  uploadStatus(sessionId: string, signal?: AbortSignal) {
    return this.#json('GET', `/files/upload/${seg(sessionId)}`, answers.status, { signal })
  }

  pendingUploads(signal?: AbortSignal) {
    return this.#json('GET', '/files/uploads', answers.pending, { signal })
  }

  completeUpload(sessionId: string, request?: UploadCompleteRequest, signal?: AbortSignal) {
    const path = `/files/upload/${seg(sessionId)}/complete`
    return this.#json('POST', path, answers.complete, { body: request ?? {}, signal })
  }

  async putChunk(upload: ChunkUpload, ciphertext: Uint8Array, signal?: AbortSignal) {
    await this.#call({
      method: 'PUT',
      url: upload.url,
      // The presigned headers carry the checksum S3 checks; send them exactly as given.
      headers: upload.headers,
      body: ciphertext,
      timeoutMs: this.#chunkTimeoutMs,
      signal,
      maxBytes: 64 * 1024,
      what: `chunk ${upload.index} PUT`,
      ...(this.#pace?.up && { pace: { send: this.#pace.up } }),
    })
  }

  download(fileId: string, version?: number, signal?: AbortSignal) {
    const path = `/files/${seg(fileId)}/download`
    return this.#json('GET', path, answers.download, { query: { version }, signal })
  }

  async fetchChunk(url: string, signal?: AbortSignal): Promise<Uint8Array> {
    const answer = await this.#call({
      method: 'GET',
      url,
      timeoutMs: this.#chunkTimeoutMs,
      signal,
      maxBytes: MAX_CHUNK_BYTES,
      what: 'chunk GET',
      ...(this.#pace?.down && { pace: { receive: this.#pace.down } }),
    })
    return answer.body
  }

  metadata(fileId: string, signal?: AbortSignal) {
    return this.#json('GET', `/files/${seg(fileId)}/metadata`, answers.metadata, { signal })
  }

  /** One version of a file (every version is kept): what `restore` commits again. */
  versionMetadata(fileId: string, version: number, signal?: AbortSignal) {
    const path = `/files/${seg(fileId)}/metadata`
    return this.#json('GET', path, answers.metadata, { query: { version }, signal })
  }

  /** The changes that touched a path, newest first. */
  history(path: string, limit?: number, signal?: AbortSignal) {
    return this.#json('GET', '/files/history', answers.history, { query: { path, limit }, signal })
  }

  byPath(path: string, signal?: AbortSignal) {
    return this.#json('GET', '/files/by-path', answers.metadata, { query: { path }, signal })
  }

  list(query: { prefix?: string; cursor?: string; limit?: number }, signal?: AbortSignal) {
    return this.#json('GET', '/files', answers.list, { query, signal })
  }

  deleteFile(fileId: string, baseVersion: number, signal?: AbortSignal) {
    const body = { baseVersion }
    return this.#json('DELETE', `/files/${seg(fileId)}`, answers.summary, { body, signal })
  }

  moveFile(fileId: string, to: string, baseVersion: number, signal?: AbortSignal) {
    const body = { to, baseVersion }
    return this.#json('POST', `/files/${seg(fileId)}/move`, answers.metadata, { body, signal })
  }

  changes(cursor: number, options: { limit?: number; wait?: number; signal?: AbortSignal } = {}) {
    const { limit, wait, signal } = options
    return this.#json('GET', '/sync/changes', answers.changes, {
      query: { cursor, limit, wait },
      signal,
      // A long poll is held up to `wait` seconds before the server answers.
      timeoutMs: this.#timeoutMs + (wait ?? 0) * 1000,
    })
  }

  snapshot(query: SnapshotQuery, signal?: AbortSignal) {
    return this.#json('GET', '/sync/snapshot', answers.snapshot, { query, signal })
  }

  devices(signal?: AbortSignal) {
    return this.#json('GET', '/devices', answers.devices, { signal })
  }

  async updateAddresses(addresses: string[], signal?: AbortSignal) {
    await this.#send('PUT', '/devices/self/addresses', { body: { addresses }, signal })
  }

  /** A fresh certificate for this device (certificates expire; a linked device renews). */
  async renewCertificate(signal?: AbortSignal) {
    return (await this.#json('POST', '/devices/self/certificate', answers.certificate, { signal }))
      .certificate
  }

  invite(signal?: AbortSignal) {
    return this.#json('POST', '/devices/invite', answers.invite, { signal })
  }

  async #json<T extends TSchema>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    schema: Parser<T>,
    options: RequestOptions = {},
  ) {
    const answer = await this.#send(method, path, options)
    return parseAnswer(answer, schema, `${method} ${path}`)
  }

  /** The coordinator's instances, as it lists them (`GET /coordinators`). */
  async coordinators(signal?: AbortSignal): Promise<string[]> {
    const answer = await this.#json('GET', '/coordinators', answers.coordinators, { signal })
    return answer.coordinators.map((c) => c.url)
  }

  /** Whether an instance says it can serve (`GET /readyz` answers 200). */
  async ready(baseUrl: string, signal?: AbortSignal): Promise<boolean> {
    const call = { method: 'GET' as const, timeoutMs: 5000, signal, maxBytes: 64 * 1024 }
    return httpCall({ ...call, url: `${trimBase(baseUrl)}/readyz`, what: 'GET /readyz' }).then(
      () => true,
      () => false,
    )
  }

  /**
   * One request, on the current instance; when it does not answer at all, on the next ones
   * in turn (every request is safe to repeat: complete answers a committed session's result
   * again, and a repeated init opens a session that expires unused).
   */
  async #send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options: RequestOptions) {
    for (let tried = 1; ; tried++) {
      const base = this.endpoints.current
      try {
        return await this.#sendTo(base, method, path, options)
      } catch (err) {
        if (!isUnreachable(err) || tried >= this.endpoints.all.length) throw err
        this.endpoints.failed(base)
      }
    }
  }

  #sendTo(
    base: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    options: RequestOptions,
  ) {
    const headers: Record<string, string> = { authorization: this.#auth }
    // No content-type without a body: Fastify refuses an empty application/json body.
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    return this.#call({
      method,
      url: base + path + queryString(options.query),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      timeoutMs: options.timeoutMs ?? this.#timeoutMs,
      signal: options.signal,
      maxBytes: MAX_JSON_BYTES,
      what: `${method} ${path}`,
    })
  }
}

interface RequestOptions {
  body?: unknown
  query?: Query
  signal?: AbortSignal | undefined
  timeoutMs?: number
}

/**
 * `POST /devices` (no credential yet): the CLI's link step. The request is checked here
 * first, so a malformed name or key fails with the field named, not a round trip later.
 */
export async function linkDevice(
  baseUrl: string,
  request: LinkDeviceRequest,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<LinkDeviceResponse> {
  linkRequest.parse(request)
  const answer = await httpCall({
    method: 'POST',
    url: `${trimBase(baseUrl)}/devices`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    signal: options.signal,
    maxBytes: 1024 * 1024,
    what: 'POST /devices',
  })
  return parseAnswer(answer, answers.link, 'POST /devices')
}

function trimBase(baseUrl: string): string {
  const url = new URL(baseUrl)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`Coordinator URL must be http(s), got ${baseUrl}`)
  }
  return url.href.replace(/\/+$/, '')
}

const seg = encodeURIComponent

function queryString(query: Query | undefined): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}
