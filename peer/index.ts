/**
 * The peer's public entry point for code outside `peer/` (the simulator): the sync engine,
 * its ports, and the adapters a simulated device is assembled from.
 */
export { cloudSource } from './adapters/cloud-source.ts'
export { HttpCoordinator, type HttpCoordinatorOptions } from './adapters/http-coordinator.ts'
export {
  checkedAnswer,
  type HttpAnswer,
  type HttpCall,
  type HttpTransport,
} from './adapters/http-request.ts'
export { MemoryFileSystem } from './adapters/memory-fs.ts'
export type { ChunkSource } from './chunk-source.ts'
export { syncIndexOf } from './daemon/index-port.ts'
export { SyncEngine, type SyncEngineDeps } from './engine/sync-engine.ts'
export { LocalIndex } from './index/local-index.ts'
export { localChunkSource } from './index/own-chunks.ts'
export type { Clock } from './ports/clock.ts'
export type { CoordinatorApi, PushChannel } from './ports/coordinator.ts'
export type { FileStat, SyncFileSystem, TempFile } from './ports/file-system.ts'
export type { SyncIndex } from './ports/sync-index.ts'
export type { FolderWatcher } from './ports/watcher.ts'
export { withRetry } from './retry.ts'
