import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['{protocol,coordinator,peer,simulations,bin}/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real processes and sockets: run files in forks, two at a time on this 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
  },
})
