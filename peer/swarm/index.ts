/** The device's libp2p swarm: the node, the chunk service it runs, and the swarm ChunkSource. */

export {
  type OpenChunkStream,
  type SwarmPeer,
  SwarmSource,
  type SwarmSourceInit,
} from '../chunk-sources/swarm-source.ts'
export {
  type ChunkProvider,
  ChunkService,
  type ChunkServiceCounters,
  type ChunkServiceInit,
  chunkService,
} from './chunk-service.ts'
export type { SwarmIdentity } from './identity.ts'
export { type LinkedDevice, LinkedPeers } from './linked-peers.ts'
export {
  chunkStreamOpener,
  closeConnectionsTo,
  createSwarmNode,
  decodeNodeKey,
  encodeNodeKey,
  generateNodeKey,
  linkProof,
  nodeAddresses,
  peerIdOf,
  type SwarmNode,
  type SwarmNodeInit,
} from './node.ts'
export type { PeerCounters } from './peer-stats.ts'
