/**
 * Tells the sync logic which paths may have changed. It may report too much (a periodic
 * rescan catches what it misses); the logic stats and hashes before acting.
 */
export interface FolderWatcher {
  start(onPaths: (paths: string[]) => void): Promise<void>
  stop(): Promise<void>
}
