/** The coordinator client of a linked folder, for the one-off commands. */
import { isCloudsyncError } from '../../protocol/errors.ts'
import { HttpCoordinator } from '../adapters/http-coordinator.ts'
import type { DeviceState } from '../daemon/device-state.ts'
import { loadLinked } from './link.ts'

export async function linked(
  dir: string | undefined,
): Promise<{ state: DeviceState; stateDir: string; api: HttpCoordinator }> {
  const { state, stateDir } = await loadLinked(dir)
  return {
    state,
    stateDir,
    api: new HttpCoordinator({ baseUrl: state.coordinatorUrl, credential: state.credential }),
  }
}

/** The remote file's live version at `path`, or undefined when there is none. */
export async function currentVersion(
  api: HttpCoordinator,
  path: string,
): Promise<{ version: number; size: number; hash: string } | undefined> {
  try {
    const meta = await api.byPath(path)
    return meta.deleted ? undefined : meta
  } catch (err) {
    if (isCloudsyncError(err, 'NOT_FOUND')) return undefined
    throw err
  }
}
