/**
 * The one command line: coordinator commands and device commands, composed here (the two
 * sides share only protocol/).
 */
// First: it may re-execute the process before anything else runs (see there).
import '../protocol/memory/process-tuning.ts'
import { Command } from 'commander'
import { registerCoordinatorCommands } from '../coordinator/cli.ts'
import { EXIT, registerPeerCommands, reportError } from '../peer/cli/index.ts'

const program = new Command('cloudsync')
  .description('Peer-assisted cloud storage and sync')
  .showHelpAfterError()
  .exitOverride()
registerCoordinatorCommands(program)
registerPeerCommands(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  const commanderExit = (err as { code?: string; exitCode?: number }).code?.startsWith('commander.')
  if (commanderExit)
    process.exitCode = (err as { exitCode: number }).exitCode === 0 ? EXIT.ok : EXIT.usage
  else {
    const code = (err as { exitCode?: number }).exitCode
    process.exitCode = code ?? reportError(err)
    if (code !== undefined) process.stderr.write(`cloudsync: ${(err as Error).message}\n`)
  }
}
