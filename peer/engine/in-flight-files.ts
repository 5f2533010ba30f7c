/**
 * Files in flight, for `status` (docs/LAN-FIRST.md): this device's uploads with how much
 * of each has reached the cloud, and other devices' versions placed here ahead of their
 * commit, with the devices known to hold them.
 */
import type { SyncIndex } from '../ports/sync-index.ts'
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
}

export function inFlightFiles(
  index: SyncIndex,
  provisional: ProvisionalFiles,
  self: string,
): InFlightFile[] {
  const uploading = index.listUploads().map((u): InFlightFile => {
    const acked = index.acknowledged(u.sessionId)
    let cloudBytes = 0
    for (const i of acked) cloudBytes += u.manifest.chunks[i]?.size ?? 0
    return {
      path: u.path,
      state: 'uploading',
      uploader: self,
      holders: [self],
      size: u.manifest.size,
      cloudBytes,
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
