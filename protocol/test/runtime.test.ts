import { describe, expect, it } from 'vitest'

describe('runtime', () => {
  it('runs on Node 24 or newer (the node@24 devDependency, not the machine Node)', () => {
    const major = Number(process.versions.node.split('.')[0])
    expect(major).toBeGreaterThanOrEqual(24)
  })
})
