/**
 * The coordinator's public entry point for code outside `coordinator/` (the simulator):
 * the app and its embedded backends, account creation, and a garbage collection run.
 */
export { type AppDeps, buildApp } from './app.ts'
export { MemoryBlobStore } from './blobs/index.ts'
export { MemoryBus } from './bus/index.ts'
export { type Config, testConfig } from './config.ts'
export { createAccount } from './services/accounts.ts'
export { runGc } from './services/gc.ts'
export { type Db, openStore } from './store/index.ts'
