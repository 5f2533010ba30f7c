import type { Command } from 'commander'
import { registerLinkCommands } from './link.ts'
import { registerSyncCommands } from './sync.ts'
import { registerTransferCommands } from './transfer.ts'

/** The device's commands: link, invite, sync, status, put, get, ls. */
export function registerPeerCommands(program: Command): void {
  registerLinkCommands(program)
  registerSyncCommands(program)
  registerTransferCommands(program)
}

export { EXIT, reportError } from './output.ts'
