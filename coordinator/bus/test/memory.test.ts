import { MemoryBus, MemoryBusHub } from '../memory.ts'
import { runBusContract } from './bus.contract.ts'

runBusContract('memory', async () => {
  const hub = new MemoryBusHub()
  return {
    createBus: async (options) => new MemoryBus({ hub, ...options }),
    teardown: async () => {},
  }
})
