import { describe, expect, it } from 'vitest'
import { maskIdNumber, maskMiddle, maskName, maskPhone } from '../mask'

describe('masking personal data', () => {
  it('shows an ID number as 4401**********1234', () => {
    expect(maskIdNumber('440183199001011234')).toBe('4401**********1234')
    expect(maskIdNumber('44018319900101123X')).toBe('4401**********123X')
  })

  it('masks mobile numbers, dropping +86 and separators', () => {
    expect(maskPhone('13812345678')).toBe('138****5678')
    expect(maskPhone('+86 138-1234-5678')).toBe('138****5678')
  })

  it('never reveals a value too short to mask both ends', () => {
    expect(maskMiddle('1234', 4, 4)).toBe('1***')
    expect(maskMiddle('x', 1, 1)).toBe('*')
    expect(maskMiddle('', 1, 1)).toBe('')
  })

  it('masks names character by character (not UTF-16 units)', () => {
    expect(maskName('张三')).toBe('张*')
    expect(maskName('欧阳娜娜')).toBe('欧***')
    expect(maskName('𠮷')).toBe('𠮷*')
  })
})
