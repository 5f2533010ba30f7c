import type { Change } from '../../protocol/schemas/sync.ts'
import type { LocalIndex } from '../local-index/local-index.ts'
import type { ProvisionalFile, SyncIndex } from '../ports/sync-index.ts'

const CURSOR = 'cursor'
const SKIPPED = 'skipped-changes'
const PROVISIONAL = 'provisional-files'

/** The engine's view of the SQLite index: sync times stamped, the cursor kept in kv. */
export function syncIndexOf(index: LocalIndex, now: () => number): SyncIndex {
  return {
    getFile: (path) => index.getFile(path),
    putFile: (file, plainHashes) => index.putFile({ ...file, syncedAt: now() }, plainHashes),
    removeFile: (path) => {
      index.removeFile(path)
    },
    listFiles: () => index.listFiles(),
    filesByContentHash: (hash) => index.filesByContentHash(hash),
    beginUpload: (checkpoint) => index.beginUpload(checkpoint),
    ackChunk: (sessionId, i) => index.ackChunk(sessionId, i),
    acknowledged: (sessionId) => index.acknowledged(sessionId),
    getUpload: (path) => index.getUpload(path),
    listUploads: () => index.listUploads(),
    finishUpload: (path) => index.finishUpload(path),
    getCursor: () => Number(index.get(CURSOR) ?? 0),
    setCursor: (cursor) => index.set(CURSOR, String(cursor)),
    getSkippedChanges: () => JSON.parse(index.get(SKIPPED) ?? '[]') as Change[],
    setSkippedChanges: (changes) => index.set(SKIPPED, JSON.stringify(changes)),
    getProvisional: () => JSON.parse(index.get(PROVISIONAL) ?? '[]') as ProvisionalFile[],
    setProvisional: (files) => index.set(PROVISIONAL, JSON.stringify(files)),
  }
}
