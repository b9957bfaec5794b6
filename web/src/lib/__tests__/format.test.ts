import { describe, expect, it } from 'vitest'
import { filenameFromDisposition, formatDateTime, formatFee, isValidFee } from '../format'

describe('fees', () => {
  it('formats decimal strings with two places', () => {
    expect(formatFee('0')).toBe('0.00')
    expect(formatFee('12.5')).toBe('12.50')
    expect(formatFee('abc')).toBeNull()
    expect(formatFee(null)).toBeNull()
  })

  it('accepts only non-negative amounts with up to two decimals', () => {
    expect(isValidFee('0')).toBe(true)
    expect(isValidFee(' 12.50 ')).toBe(true)
    expect(isValidFee('-1')).toBe(false)
    expect(isValidFee('1.234')).toBe(false)
    expect(isValidFee('')).toBe(false)
  })
})

describe('filenameFromDisposition', () => {
  it('prefers the RFC 5987 filename*', () => {
    expect(
      filenameFromDisposition(
        `attachment; filename="service-items.xlsx"; filename*=UTF-8''%E4%BA%8B%E9%A1%B9%E7%9B%AE%E5%BD%95.xlsx`,
        'x',
      ),
    ).toBe('事项目录.xlsx')
  })

  it('reads a plain filename, quoted or not', () => {
    expect(filenameFromDisposition('attachment; filename="items.csv"', 'x')).toBe('items.csv')
    expect(filenameFromDisposition('attachment; filename=items.csv', 'x')).toBe('items.csv')
  })

  it('falls back when absent', () => {
    expect(filenameFromDisposition(null, 'service-items.xlsx')).toBe('service-items.xlsx')
    expect(filenameFromDisposition('attachment', 'f.csv')).toBe('f.csv')
  })
})

describe('formatDateTime', () => {
  it('shows Beijing time whatever the machine zone', () => {
    expect(formatDateTime('2024-05-01T02:30:00Z', 'zh-CN')).toContain('10:30')
    expect(formatDateTime(null, 'en')).toBe('')
    expect(formatDateTime('not a date', 'en')).toBe('not a date')
  })
})
