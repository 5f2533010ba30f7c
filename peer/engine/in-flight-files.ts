/**
 * Files in flight, for `status` (docs/LAN-FIRST.md): this device's uploads with how much
 * of each has reached the cloud, and other devices' versions placed here ahead of their
 * commit, with the devices known to hold them.
 */
import type { SyncIndex } from '../ports/sync-index.ts'
import { etaSeconds } from './cloud-rate.ts'
import type { ProvisionalFiles } from './provisional.ts'

export interface InFlightFile {
  path: string
  /** `uploading`: this device's upload; `placed`: another device's, placed here. */
  state: 'uploading' | 'placed'
  /** The uploader's device id. */
  uploader: string
  /** Device ids known to hold the whole version. */
  holders: string[]
  size: number
  /** Plaintext bytes of it this device has seen acknowledged by the cloud (uploads only). */
  cloudBytes?: number
  /** Recent rate of the cloud copy (uploads only); absent until one is measured. */
  cloudBytesPerSecond?: number
  /** Seconds until the cloud copy is done at that rate; absent when the rate is unknown. */
  etaSeconds?: number
}

export function inFlightFiles(
  index: SyncIndex,
  provisional: ProvisionalFiles,
  self: string,
  /** An upload session's recent cloud rate in bytes per second (CloudRates), if known. */
  rate: (sessionId: string) => number | undefined = () => undefined,
): InFlightFile[] {
  const uploading = index.listUploads().map((u): InFlightFile => {
    const acked = index.acknowledged(u.sessionId)
    let cloudBytes = 0
    for (const i of acked) cloudBytes += u.manifest.chunks[i]?.size ?? 0
    const bytesPerSecond = rate(u.sessionId)
    const eta = etaSeconds(u.manifest.size - cloudBytes, bytesPerSecond)
    return {
      path: u.path,
      state: 'uploading',
      uploader: self,
      holders: [self],
      size: u.manifest.size,
      cloudBytes,
      ...(bytesPerSecond !== undefined && { cloudBytesPerSecond: Math.ceil(bytesPerSecond) }),
      ...(eta !== undefined && { etaSeconds: eta }),
    }
  })
  const placed = provisional.list().map(
    (p): InFlightFile => ({
      path: p.path,
      state: 'placed',
      uploader: p.deviceId,
      holders: [p.deviceId, self],
      size: p.manifest.size,
    }),
  )
  return [...uploading, ...placed]
}
