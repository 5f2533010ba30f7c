/**
 * Keeps a device's list of coordinator instances fresh and brings it home: the coordinator
 * lists its live instances (`GET /coordinators`); while the device is away from its home
 * instance (endpoints.ts moved it when home stopped answering), home's readiness probe is
 * asked every `intervalMs`, and the device goes back once home says it is ready.
 */
import type { HttpCoordinator } from '../adapters/http-coordinator.ts'

export interface FailoverOptions {
  /** How often home is probed while away. */
  intervalMs?: number
  /** How often the list of instances is read again. */
  refreshMs?: number
  log: (level: 'info' | 'warn', message: string, fields?: object) => void
}

export const DEFAULT_HOME_PROBE_MS = 2_000
const DEFAULT_REFRESH_MS = 60_000

/** Starts the loop; returns its stopper. */
export function watchCoordinators(api: HttpCoordinator, options: FailoverOptions): () => void {
  const { endpoints } = api
  const intervalMs = options.intervalMs ?? DEFAULT_HOME_PROBE_MS
  const refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS
  const abort = new AbortController()
  let lastRefresh = Number.NEGATIVE_INFINITY
  let busy = false
  const stopMoves = endpoints.onChange((current) =>
    options.log('warn', 'coordinator instance changed', { current, home: endpoints.home }),
  )
  const tick = async () => {
    if (busy) return
    busy = true
    try {
      if (Date.now() - lastRefresh >= refreshMs) {
        const urls = await api.coordinators(abort.signal).catch(() => undefined)
        if (urls) {
          endpoints.add(urls)
          lastRefresh = Date.now()
        }
      }
      if (!endpoints.atHome && (await api.ready(endpoints.home, abort.signal))) {
        endpoints.goHome()
      }
    } finally {
      busy = false
    }
  }
  void tick()
  const timer = setInterval(() => void tick(), intervalMs)
  timer.unref()
  return () => {
    clearInterval(timer)
    abort.abort()
    stopMoves()
  }
}
