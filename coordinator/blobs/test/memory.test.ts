import { MemoryBlobStore } from '../memory.ts'
import { runBlobStoreContract } from './blob-store.contract.ts'
import { startDataPlane } from './data-plane.ts'

runBlobStoreContract(
  'memory',
  async () => {
    const store = new MemoryBlobStore()
    const plane = await startDataPlane(store)
    return {
      store,
      teardown: async () => {
        await plane.close()
        await store.close()
      },
    }
  },
  { presignedPutVerifiesBytes: true },
)
