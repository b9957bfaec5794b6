import { describe, expect, it } from 'vitest'
import { formatDay, normaliseCaseNumber, stateText, stateTone } from '../casesApi'

describe('case numbers as citizens type them', () => {
  it('accepts lower case, spaces, a missing hyphen and a missing CW', () => {
    expect(normaliseCaseNumber('CW20261127-000042')).toBe('CW20261127-000042')
    expect(normaliseCaseNumber('cw20261127000042')).toBe('CW20261127-000042')
    expect(normaliseCaseNumber(' cw 20261127 000042 ')).toBe('CW20261127-000042')
    expect(normaliseCaseNumber('20261127000042')).toBe('CW20261127-000042')
  })

  it('leaves what is not a number alone (the page then says the format is wrong)', () => {
    expect(normaliseCaseNumber('ABC')).toBe('ABC')
    expect(normaliseCaseNumber('2026')).toBe('CW2026')
  })
})

describe('case display helpers', () => {
  it('writes a due date the way a citizen reads it', () => {
    expect(formatDay('2026-10-12', 'zh-CN')).toBe('2026年10月12日')
    expect(formatDay('2026-10-12', 'en')).toBe('2026-10-12')
    expect(formatDay(null, 'zh-CN')).toBe('—')
  })

  it('colours final outcomes apart from running states', () => {
    expect(stateTone('concluded')).toBe('success')
    expect(stateTone('rejected')).toBe('danger')
    expect(stateTone('returned')).toBe('warning')
    expect(stateTone('under_approval')).toBe('primary')
  })

  it("takes the server's label in the UI language, zh-CN as fallback", () => {
    const label = { 'zh-CN': '已办结', en: 'Concluded' }
    expect(stateText(label, 'en', 'concluded')).toBe('Concluded')
    expect(stateText({ 'zh-CN': '已办结' }, 'en', 'concluded')).toBe('已办结')
    expect(stateText(undefined, 'en', 'concluded')).toBe('concluded')
  })
})
