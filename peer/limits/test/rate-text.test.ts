import { describe, expect, it } from 'vitest'
import { checkedLimits, formatRate, parseRate } from '../rate-text.ts'

describe('rates as text', () => {
  it('reads 5M, 500k, 0 and friends as bytes per second', () => {
    expect(parseRate('5M')).toBe(5 * 1024 * 1024)
    expect(parseRate('500k')).toBe(500 * 1024)
    expect(parseRate('1.5m')).toBe(1.5 * 1024 * 1024)
    expect(parseRate('2048')).toBe(2048)
    expect(parseRate('10MB/s')).toBe(10 * 1024 * 1024)
    expect(parseRate('1G')).toBe(1024 ** 3)
    expect(parseRate('0')).toBe(0)
  })

  it('refuses anything else, naming it', () => {
    for (const bad of ['', 'fast', '-1', '5T', '5 M M', '1e9'])
      expect(() => parseRate(bad)).toThrow(/not a rate/)
  })

  it('prints rates for people', () => {
    expect(formatRate(0)).toBe('unlimited')
    expect(formatRate(5 * 1024 * 1024)).toBe('5 MiB/s')
    expect(formatRate(512_000)).toBe('500 KiB/s')
    expect(formatRate(100)).toBe('100 B/s')
  })

  it('checks limits from outside: known names, rates as text or numbers', () => {
    expect(checkedLimits({ cloudUp: '5M', lanDown: 1000 })).toEqual({
      cloudUp: 5 * 1024 * 1024,
      lanDown: 1000,
    })
    expect(() => checkedLimits({ cloudSideways: '5M' })).toThrow(/unknown limit/)
    expect(() => checkedLimits({ lanUp: -5 })).toThrow(/must be a rate/)
    expect(() => checkedLimits(null)).toThrow(/object/)
  })
})
