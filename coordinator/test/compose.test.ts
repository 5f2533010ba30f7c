/**
 * docker-compose.yml cannot drift from the code: Docker does not run on the development
 * machines, so this parses the file (the `yaml` package, with merge keys as Compose reads
 * them) and checks it against the sources. Every variable set for a coordinator or a device
 * is one the code reads, under the name the code uses; the variables that select the
 * production backends are set; images are built from this project's Dockerfile (multi-stage,
 * non-root) and commands name files and CLI commands that exist; every long-running service
 * has a health check; the load balancer sends HTTP and WebSockets to every coordinator.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const ROOT = join(import.meta.dirname, '..', '..')
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

interface Service {
  image?: string
  build?: unknown
  command?: string[]
  environment?: Record<string, string>
  healthcheck?: { test: string[] }
  volumes?: string[]
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>
}
const services = compose.services
const named = (prefix: string) => Object.keys(services).filter((n) => n.startsWith(prefix))

/** Non-test TypeScript files under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.includes('test') && !f.includes('bench'))
    .map((f) => read(join(dir, f)))
}

/** Environment variable names the code reads: `env.X`, `env['X']`, and config.ts's
 * readers (`str('X')`, `int('X', …)`, `url('X')`, `oneOf('X', …)`). */
function variablesRead(dir: string): Set<string> {
  const names = new Set<string>()
  const patterns = [
    /env\.([A-Z][A-Z0-9_]+)/g,
    /env\[['"]([A-Z][A-Z0-9_]+)['"]\]/g,
    /\b(?:str|int|url|oneOf)\(\s*['"]([A-Z][A-Z0-9_]+)['"]/g,
  ]
  for (const text of sources(dir)) {
    for (const pattern of patterns) for (const m of text.matchAll(pattern)) names.add(m[1]!)
  }
  return names
}

const coordinatorReads = variablesRead('coordinator')
const daemonReads = variablesRead('peer')
const coordinators = named('coordinator-')
const devices = named('device-')

describe('docker-compose.yml against the code', () => {
  it('runs three coordinators and two devices', () => {
    expect(coordinators).toHaveLength(3)
    expect(devices.length).toBeGreaterThanOrEqual(2)
  })

  it('sets, for every coordinator, only variables the coordinator reads, and those that pick the production backends', () => {
    const required = ['DATABASE_URL', 'REDIS_URL', 'S3_BUCKET', 'S3_ENDPOINT', 'PUBLIC_URL']
    for (const name of required) expect(coordinatorReads, `code reads ${name}`).toContain(name)
    for (const service of coordinators) {
      const env = services[service]!.environment ?? {}
      for (const name of Object.keys(env)) {
        expect(coordinatorReads, `${service} sets ${name}, which no code reads`).toContain(name)
      }
      for (const name of required) expect(env, `${service} sets ${name}`).toHaveProperty(name)
      expect(env.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:/)
      expect(env.REDIS_URL).toMatch(/^redis:\/\/redis:/)
      expect(env.S3_ENDPOINT).toMatch(/^http:\/\/minio:/)
      expect(env.PUBLIC_URL).toBe(`http://${service}:${env.PORT}`)
    }
  })

  it('sets, for every device, only variables the daemon reads, and the instances to fail over to', () => {
    expect(daemonReads).toContain('CLOUDSYNC_COORDINATORS')
    for (const service of devices) {
      const env = services[service]!.environment ?? {}
      for (const name of Object.keys(env)) {
        expect(daemonReads, `${service} sets ${name}, which no code reads`).toContain(name)
      }
      const urls = env.CLOUDSYNC_COORDINATORS!.split(',')
      const hosts = urls.map((u) => new URL(u).hostname)
      expect(hosts).toEqual(['lb', ...coordinators])
    }
  })

  it('builds its own image from a multi-stage Dockerfile that runs as a non-root user', () => {
    for (const service of [...coordinators, ...devices]) {
      expect(services[service]!.build, service).toBe('.')
    }
    const dockerfile = read('Dockerfile')
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2)
    expect(dockerfile).toMatch(/^COPY --from=build /m)
    const user = [...dockerfile.matchAll(/^USER (\S+)/gm)].at(-1)?.[1]
    expect(user).toBeDefined()
    expect(['root', '0']).not.toContain(user)
  })

  it('runs commands and files that exist in the project', () => {
    const cli = [...sources('coordinator'), ...sources('peer')].join('\n')
    const commands = new Set([...cli.matchAll(/\.command\('([a-z-]+)'\)/g)].map((m) => m[1]))
    const scripts = [...coordinators, ...devices].map((s) => services[s]!.command!.join(' '))
    for (const script of scripts) {
      for (const m of script.matchAll(/node (\S+\.ts) ([a-z-]+)/g)) {
        expect(existsSync(join(ROOT, m[1]!)), m[1]).toBe(true)
        expect(commands, `cloudsync ${m[2]}`).toContain(m[2])
      }
    }
    for (const command of ['coordinator', 'account', 'create', 'link', 'invite', 'sync']) {
      expect(scripts.join('\n')).toContain(command)
    }
    expect(existsSync(join(ROOT, 'deploy/nginx.conf'))).toBe(true)
  })

  it('has a health check on every long-running service', () => {
    for (const [name, service] of Object.entries(services)) {
      if (devices.includes(name)) continue // a device serves nobody over HTTP
      expect(service.healthcheck?.test?.length, name).toBeGreaterThan(1)
    }
    // A coordinator is healthy when it can serve, not merely when it answers.
    expect(services['coordinator-1']!.healthcheck!.test.join(' ')).toContain('/readyz')
  })

  it('balances HTTP and WebSockets over every coordinator', () => {
    const lb = services.lb!
    expect(lb.volumes?.some((v) => v.startsWith('./deploy/nginx.conf:'))).toBe(true)
    const nginx = read('deploy/nginx.conf')
    for (const service of coordinators) {
      const port = services[service]!.environment!.PORT
      expect(nginx).toContain(`server ${service}:${port}`)
    }
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade;/)
    expect(nginx).toMatch(/proxy_set_header Connection \$connection_upgrade;/)
    expect(nginx).toMatch(/proxy_http_version 1\.1;/)
  })
})
