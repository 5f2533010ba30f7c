/**
 * What a lab is made of, as plain data: household LANs behind an uplink, remote hosts on
 * their own links, all reaching one "cloud" namespace. The builder (lab.ts) turns it into
 * namespaces, veths, a bridge per LAN, qdiscs and nftables rules.
 */

/** A link's limits. Down is towards the site (cloud -> LAN or remote host), up the other way. */
export interface LinkSpec {
  /** Mbit/s; absent: unlimited. */
  downMbit?: number
  upMbit?: number
  /** Packets dropped at random, in each direction, in percent (0-100). */
  lossPct?: number
  /** Added round-trip time in ms, half each way, by a TUN delay line; 0 or absent: none. */
  rttMs?: number
}

export interface LanSpec {
  name: string
  hosts: string[]
  /** The household's link to the cloud. */
  uplink: LinkSpec
  /** Loss on each host's port to the LAN, each direction (percent). */
  lanLossPct?: number
}

export interface RemoteSpec {
  name: string
  link: LinkSpec
}

/** A LAN host that also holds a remote link, down until the host roams onto it. */
export interface RoamSpec {
  host: string
  link: LinkSpec
}

export interface LabSpec {
  lans?: LanSpec[]
  remotes?: RemoteSpec[]
  roaming?: RoamSpec[]
}

/** Addresses, all in a private range used only inside the lab's namespaces. */
export const NET = {
  /** The cloud's service address (coordinator and blob store), on its loopback. */
  cloud: '10.213.0.1',
  lanSubnet: (lan: number) => `10.213.${10 + lan}.0/24`,
  lanGateway: (lan: number) => `10.213.${10 + lan}.1`,
  lanHost: (lan: number, host: number) => `10.213.${10 + lan}.${10 + host}`,
  /** WAN link k is a /30: the cloud end .1, the site end .2. */
  wanCloud: (k: number) => `10.213.${100 + k}.1`,
  wanSite: (k: number) => `10.213.${100 + k}.2`,
} as const

/** Name of every link, by the site it joins to the cloud. */
export const roamLinkName = (host: string) => `${host}~roam`
