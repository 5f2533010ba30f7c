/**
 * The lab builder: a LabSpec becomes namespaces (one per host, a gateway per LAN holding its
 * bridge, one "cloud"), WAN links from each site to the cloud with tbf per direction, loss
 * rules, and delay lines. `close()` removes it all, and runs on failure, on SIGINT/SIGTERM and
 * at exit; labs left by a killed run are cleaned before a new one starts.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { addAddress, delayPair, route, setUp, shape, vethPair, type Wire } from './links.ts'
import { cleanLeftovers, createNamespace, deleteNamespaceSync, newLabStem } from './netns.ts'
import { NsRules } from './rules.ts'
import { ensureTools, LabError, sh } from './shell.ts'
import { type LabSpec, type LinkSpec, NET, roamLinkName } from './spec.ts'

/** One WAN link: its site end and its cloud end. */
export interface WanLink {
  name: string
  index: number
  siteNs: string
  siteDev: string
  cloudDev: string
  spec: LinkSpec
}

export class Lab {
  readonly cloudNs: string
  /** host name -> namespace */
  readonly hosts = new Map<string, string>()
  readonly links = new Map<string, WanLink>()
  /** LAN host -> its LAN's index. */
  readonly lanOf = new Map<string, number>()
  readonly #namespaces: string[] = []
  readonly #rules = new Map<string, NsRules>()
  readonly #children = new Set<ChildProcess>()
  #closed = false
  readonly #onExit = () => this.closeSync()
  readonly #onSignal = () => {
    this.closeSync()
    process.exit(130)
  }

  readonly stem: string

  private constructor(stem: string) {
    this.stem = stem
    this.cloudNs = `${stem}-cloud`
    process.once('exit', this.#onExit)
    process.once('SIGINT', this.#onSignal)
    process.once('SIGTERM', this.#onSignal)
  }

  /** Builds a lab; on any failure, removes what was made and rethrows. */
  static async create(spec: LabSpec): Promise<Lab> {
    ensureTools()
    const stale = await cleanLeftovers()
    if (stale.length)
      process.stderr.write(`lab: removed leftovers of a killed run: ${stale.join(' ')}\n`)
    const lab = new Lab(newLabStem())
    try {
      await lab.#build(spec)
      return lab
    } catch (err) {
      lab.closeSync()
      throw err
    }
  }

  async #ns(role: string): Promise<string> {
    const ns = `${this.stem}-${role}`
    this.#namespaces.push(ns)
    await createNamespace(ns)
    this.#rules.set(ns, new NsRules(ns))
    return ns
  }

  async #build(spec: LabSpec): Promise<void> {
    const cloud = await this.#ns('cloud')
    await addAddress(cloud, 'lo', `${NET.cloud}/32`)
    for (const [i, lan] of (spec.lans ?? []).entries()) {
      const gw = await this.#ns(`${lan.name}-gw`)
      await sh('ip', ['-n', gw, 'link', 'add', 'br0', 'type', 'bridge'])
      await setUp(gw, 'br0', true)
      await addAddress(gw, 'br0', `${NET.lanGateway(i)}/24`)
      await sh('ip', ['netns', 'exec', gw, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
      for (const [j, host] of lan.hosts.entries()) {
        const ns = await this.#host(host)
        this.lanOf.set(host, i)
        await vethPair(ns, 'eth0', gw, `p${j}`)
        await sh('ip', ['-n', gw, 'link', 'set', `p${j}`, 'master', 'br0'])
        await setUp(gw, `p${j}`, true)
        await setUp(ns, 'eth0', true)
        await addAddress(ns, 'eth0', `${NET.lanHost(i, j)}/24`)
        await route(ns, `${NET.cloud}/32`, NET.lanGateway(i))
        if (lan.lanLossPct) this.rules(ns).setLoss('eth0', lan.lanLossPct, lan.lanLossPct)
      }
      const link = await this.#wan(lan.name, gw, lan.uplink)
      await route(cloud, NET.lanSubnet(i), NET.wanSite(link.index))
    }
    for (const remote of spec.remotes ?? [])
      await this.#wan(remote.name, await this.#host(remote.name), remote.link)
    for (const roam of spec.roaming ?? []) {
      const ns = this.hosts.get(roam.host)
      if (!ns) throw new LabError(`roaming host ${roam.host} is on no LAN`)
      const link = await this.#wan(roamLinkName(roam.host), ns, roam.link, 'wan1', false)
      await setUp(ns, link.siteDev, false)
    }
  }

  async #host(name: string): Promise<string> {
    if (this.hosts.has(name)) throw new LabError(`host ${name} is named twice`)
    if (!/^[a-z][a-z0-9]{0,15}$/.test(name))
      throw new LabError(`host name ${name}: use a-z0-9, 16 at most`)
    const ns = await this.#ns(name)
    this.hosts.set(name, ns)
    return ns
  }

  /** A link from a site namespace to the cloud: addresses, routes, shaping, loss, delay. */
  async #wan(name: string, siteNs: string, spec: LinkSpec, siteDev = 'wan0', routeCloud = true) {
    const index = this.links.size
    const cloudDev = `c${index}`
    const wire: Wire = spec.rttMs
      ? await delayPair(siteNs, siteDev, this.cloudNs, cloudDev, spec.rttMs / 2)
      : await vethPair(siteNs, siteDev, this.cloudNs, cloudDev)
    if (wire.delayLine) this.#track(wire.delayLine)
    await addAddress(siteNs, siteDev, `${NET.wanSite(index)}/30`)
    await addAddress(this.cloudNs, cloudDev, `${NET.wanCloud(index)}/30`)
    await setUp(siteNs, siteDev, true)
    await setUp(this.cloudNs, cloudDev, true)
    if (routeCloud) await route(siteNs, `${NET.cloud}/32`, NET.wanCloud(index))
    const link: WanLink = { name, index, siteNs, siteDev, cloudDev, spec }
    this.links.set(name, link)
    await this.setRates(name, spec.downMbit, spec.upMbit)
    if (spec.lossPct) this.setLinkLoss(name, spec.lossPct)
    return link
  }

  link(name: string): WanLink {
    const link = this.links.get(name)
    if (!link) throw new LabError(`no link ${name}; links: ${[...this.links.keys()].join(', ')}`)
    return link
  }

  ns(host: string): string {
    const ns = this.hosts.get(host)
    if (!ns) throw new LabError(`no host ${host}; hosts: ${[...this.hosts.keys()].join(', ')}`)
    return ns
  }

  rules(ns: string): NsRules {
    return this.#rules.get(ns)!
  }

  /** Bandwidth per direction: down leaves the cloud's end, up the site's. */
  async setRates(name: string, downMbit?: number, upMbit?: number): Promise<void> {
    const link = this.link(name)
    await shape(this.cloudNs, link.cloudDev, downMbit)
    await shape(link.siteNs, link.siteDev, upMbit)
  }

  /** Loss on a WAN link, each direction, applied at its site end. */
  setLinkLoss(name: string, pct: number): void {
    const link = this.link(name)
    this.rules(link.siteNs).setLoss(link.siteDev, pct, pct)
  }

  /** Loss on every LAN port of every LAN host, each direction. */
  setLanLoss(pct: number): void {
    for (const host of this.lanOf.keys()) this.rules(this.ns(host)).setLoss('eth0', pct, pct)
  }

  /** A cut WAN link: every packet dropped both ways, as when a cable is pulled upstream. */
  setCut(name: string, cut: boolean): void {
    const link = this.link(name)
    this.rules(link.siteNs).setCut(link.siteDev, cut)
  }

  /** Cloud-only mode: LAN hosts cannot open TCP connections to each other. */
  setSwarmBlocked(blocked: boolean): void {
    for (const [host, lan] of this.lanOf)
      this.rules(this.ns(host)).rejectTcpFrom(blocked ? NET.lanSubnet(lan) : undefined)
  }

  /** A LAN host leaves its LAN (its port goes down). */
  async leaveLan(host: string): Promise<void> {
    await setUp(this.ns(host), 'eth0', false)
  }

  /** A LAN host comes up on its roaming link, and reaches the cloud through it. */
  async roam(host: string): Promise<void> {
    const link = this.link(roamLinkName(host))
    await setUp(link.siteNs, link.siteDev, true)
    await route(link.siteNs, `${NET.cloud}/32`, NET.wanCloud(link.index), link.siteDev)
  }

  /**
   * A host back on its LAN, its roaming link down: as the lab built it. A lab is shared by a
   * scenario's cells, and a host left roaming would start the next cell already away.
   */
  async rejoinLan(host: string): Promise<void> {
    const lan = this.lanOf.get(host)
    if (lan === undefined) throw new LabError(`host ${host} is on no LAN`)
    const ns = this.ns(host)
    const roaming = this.links.get(roamLinkName(host))
    if (roaming) await setUp(ns, roaming.siteDev, false)
    await setUp(ns, 'eth0', true)
    await route(ns, `${NET.cloud}/32`, NET.lanGateway(lan), 'eth0')
  }

  /** Starts a process inside a host's namespace ("cloud" for the cloud); ended by close(). */
  spawn(host: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const ns = host === 'cloud' ? this.cloudNs : this.ns(host)
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    })
    this.#track(child)
    return child
  }

  /** Runs a command inside a host's namespace to completion; its stdout. */
  exec(host: string, cmd: string, args: string[], timeoutMs?: number): Promise<string> {
    const ns = host === 'cloud' ? this.cloudNs : this.ns(host)
    return sh('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs)
  }

  #track(child: ChildProcess): void {
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
  }

  get namespaces(): readonly string[] {
    return this.#namespaces
  }

  /** Ends the lab's processes politely (SIGTERM, then SIGKILL after `graceMs`), then removes it. */
  async close(graceMs = 5_000): Promise<void> {
    if (this.#closed) return
    await Promise.all(
      [...this.#children].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise<void>((r) => child.once('exit', () => r()))
        child.kill('SIGTERM')
        const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref())
        await Promise.race([exited, timer])
      }),
    )
    this.closeSync()
  }

  /** Removes everything at once: every process in the lab's namespaces killed, namespaces deleted. */
  closeSync(): void {
    if (this.#closed) return
    this.#closed = true
    process.removeListener('exit', this.#onExit)
    process.removeListener('SIGINT', this.#onSignal)
    process.removeListener('SIGTERM', this.#onSignal)
    for (const child of this.#children) {
      try {
        child.kill('SIGKILL')
      } catch {}
    }
    for (const ns of this.#namespaces.toReversed()) deleteNamespaceSync(ns)
  }
}
