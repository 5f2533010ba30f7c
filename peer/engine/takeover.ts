/**
 * Finishing another device's upload on its behalf (docs/LAN-FIRST.md "Takeover"): when
 * the uploader of a version this device placed ahead of its commit goes offline before
 * the commit, this device PUTs what the store still lacks from its own copy (convergent
 * encryption gives the uploader's ciphertexts) and completes the same session: the same
 * commit, base and author.
 */
import { possessionResponse } from '../../protocol/crypto/possession.ts'
import { isCloudsyncError } from '../../protocol/errors.ts'
import type { DeviceInfo } from '../../protocol/schemas/devices.ts'
import type { CoordinatorApi } from '../ports/coordinator.ts'
import type { ProvisionalFile } from '../ports/sync-index.ts'
import type { ProvisionalFiles } from './provisional.ts'

export interface TakeoverDeps {
  api: CoordinatorApi
  retry: <T>(call: () => Promise<T>) => Promise<T>
  provisional: ProvisionalFiles
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
}

export class Takeover {
  readonly counters = { finished: 0, failed: 0 }
  readonly #deps: TakeoverDeps
  /** The account's online devices as last pushed; undefined until the first list. */
  #online: Set<string> | undefined
  readonly #running = new Map<string, Promise<void>>()

  constructor(deps: TakeoverDeps) {
    this.#deps = deps
  }

  /** The coordinator's device list: finishes the uploads of those that went offline. */
  onDevices(devices: readonly DeviceInfo[], signal?: AbortSignal): void {
    this.#online = new Set(devices.filter((d) => d.online).map((d) => d.deviceId))
    for (const file of this.#deps.provisional.list()) this.check(file, signal)
  }

  /** Finishes this placed file's upload if its uploader is known to be offline. */
  check(file: ProvisionalFile, signal?: AbortSignal): void {
    if (!this.#online || this.#online.has(file.deviceId)) return
    if (this.#running.has(file.sessionId)) return
    const run = this.finish(file, signal).finally(() => this.#running.delete(file.sessionId))
    this.#running.set(file.sessionId, run)
  }

  /** Waits for the takeovers under way (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running.values()])
  }

  /** PUTs what the session lacks from the placed file, then completes it. */
  async finish(file: ProvisionalFile, signal?: AbortSignal): Promise<void> {
    const { api, retry, provisional, log } = this.#deps
    const { sessionId, path } = file
    try {
      const status = await retry(() => api.uploadStatus(sessionId, signal))
      if (status.state !== 'open') return
      for (const upload of status.uploads) {
        const ciphertext = await provisional.ciphertextAt(file, upload.index)
        // Changed here since it was placed: this copy is no longer the uploader's version.
        if (!ciphertext) return
        await retry(() => api.putChunk(upload, ciphertext, signal))
      }
      const proofs: { index: number; response: string }[] = []
      for (const { index, nonce, offset, length } of status.challenges ?? []) {
        const ciphertext = await provisional.ciphertextAt(file, index)
        if (!ciphertext) return
        proofs.push({ index, response: possessionResponse(nonce, ciphertext, offset, length) })
      }
      await retry(() => api.completeUpload(sessionId, proofs.length > 0 ? { proofs } : {}, signal))
      this.counters.finished++
      log('info', "finished an offline device's upload", { path, sessionId })
    } catch (err) {
      if (signal?.aborted) return
      this.counters.failed++
      // Gone or expired meanwhile: the commit (or the expiry notice) settles the placed file.
      if (isCloudsyncError(err, 'NOT_FOUND') || isCloudsyncError(err, 'GONE')) return
      log('warn', "could not finish an offline device's upload", {
        path,
        sessionId,
        error: (err as Error).message,
      })
    }
  }
}
