import type { Command } from 'commander'
import { registerControlCommands } from './control.ts'
import { registerHistoryCommands } from './history.ts'
import { registerLinkCommands } from './link.ts'
import { registerSyncCommands } from './sync.ts'
import { registerTransferCommands } from './transfer.ts'

/** The device's commands: link, invite, sync, status, pause, resume, limits, open, put, get, ls, history, restore. */
export function registerPeerCommands(program: Command): void {
  registerLinkCommands(program)
  registerSyncCommands(program)
  registerControlCommands(program)
  registerTransferCommands(program)
  registerHistoryCommands(program)
}

export { EXIT, reportError } from './output.ts'
