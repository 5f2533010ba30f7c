/**
 * Builds a small lab (a remote host with a delayed link), prints its namespaces as one JSON
 * line and waits: the leftover test kills it with SIGKILL, the root test runs it as nobody.
 */
import { Lab } from '../lab.ts'
import { requireRoot } from '../shell.ts'

requireRoot('the lab')
const lab = await Lab.create({ remotes: [{ name: 'r', link: { upMbit: 10, rttMs: 10 } }] })
process.stdout.write(`${JSON.stringify({ namespaces: lab.namespaces })}\n`)
setInterval(() => {}, 60_000)
