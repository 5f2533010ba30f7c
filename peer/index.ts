/**
 * The peer's public entry point for code outside `peer/` (the simulator): the sync engine,
 * its ports, and the adapters a simulated device is assembled from.
 */

export { HttpCoordinator, type HttpCoordinatorOptions } from './adapters/http-coordinator.ts'
export {
  checkedAnswer,
  type HttpAnswer,
  type HttpCall,
  type HttpTransport,
} from './adapters/http-request.ts'
export { MemoryFileSystem } from './adapters/memory-fs.ts'
export type { ChunkSource } from './chunk-sources/chunk-source.ts'
export { cloudSource } from './chunk-sources/cloud-source.ts'
export { localChunkSource } from './chunk-sources/local-source.ts'
export { syncIndexOf } from './daemon/index-port.ts'
export { SyncEngine, type SyncEngineDeps } from './engine/sync-engine.ts'
export { LocalIndex } from './local-index/local-index.ts'
export type { Clock } from './ports/clock.ts'
export type { CoordinatorApi, PushChannel } from './ports/coordinator.ts'
export type { FileStat, SyncFileSystem, TempFile } from './ports/file-system.ts'
export type { SyncIndex } from './ports/sync-index.ts'
export type { FolderWatcher } from './ports/watcher.ts'
export { withRetry } from './retry.ts'
