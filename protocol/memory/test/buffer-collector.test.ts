import { describe, expect, it } from 'vitest'
import { CollectionSchedule } from '../buffer-collector.ts'

const MB = 1024 * 1024
const limits = { stepBytes: 8 * MB, ceilingBytes: 32 * MB }

describe('CollectionSchedule', () => {
  it('asks for nothing while the buffers stay near where they were', () => {
    const schedule = new CollectionSchedule(50 * MB, limits)
    for (const bytes of [50, 52, 49, 55, 51]) expect(schedule.due(bytes * MB)).toBeUndefined()
  })

  it('asks for a young collection per step of growth, counted from the last collection', () => {
    const schedule = new CollectionSchedule(50 * MB, limits)
    expect(schedule.due(58 * MB)).toBe('young')
    schedule.collected('young', 54 * MB)
    expect(schedule.due(60 * MB)).toBeUndefined()
    expect(schedule.due(62 * MB)).toBe('young')
  })

  it('asks for a full collection past the ceiling, and counts again from what it left', () => {
    const schedule = new CollectionSchedule(50 * MB, limits)
    expect(schedule.due(83 * MB)).toBe('full')
    schedule.collected('full', 60 * MB)
    expect(schedule.due(90 * MB)).toBe('young')
    schedule.collected('young', 90 * MB)
    expect(schedule.due(93 * MB)).toBe('full')
  })

  it('lets the floor follow the buffers down: freed buffers do not make room for garbage', () => {
    // 72 MiB of encoder slabs live at the last full collection, freed soon after.
    const schedule = new CollectionSchedule(100 * MB, limits)
    expect(schedule.due(20 * MB)).toBeUndefined()
    schedule.collected('young', 20 * MB)
    for (let bytes = 24; bytes <= 52; bytes += 4) {
      const due = schedule.due(bytes * MB)
      if (due === 'young') schedule.collected('young', bytes * MB)
      else expect(due).toBeUndefined()
    }
    // 33 MB above the fewest seen, far below the 132 MB a fixed floor would have allowed.
    expect(schedule.due(53 * MB)).toBe('full')
  })
})
