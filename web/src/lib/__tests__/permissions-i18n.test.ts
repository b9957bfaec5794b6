import { describe, expect, it } from 'vitest'
import { hasPermission } from '../permissions'
import zhCN from '../i18n/zh-CN'
import en from '../i18n/en'
import { enumLabel, i18n, normaliseLocale } from '../i18n'
import * as enums from '../enums'
import * as queue from '../queue'

describe('hasPermission', () => {
  it('matches exact permissions and wildcards', () => {
    expect(hasPermission(['catalog.read'], 'catalog.read')).toBe(true)
    expect(hasPermission(['catalog.read'], 'catalog.write')).toBe(false)
    expect(hasPermission(['catalog.*'], 'catalog.write')).toBe(true)
    expect(hasPermission(['catalog.*'], 'fleet.read')).toBe(false)
    expect(hasPermission(['*'], 'users.write')).toBe(true)
    expect(hasPermission([], undefined)).toBe(true)
  })
})

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  )
}

describe('i18n', () => {
  it('has the same keys in zh-CN and English', () => {
    expect(keys(en).sort()).toEqual(keys(zhCN).sort())
  })

  it('labels every value of every closed vocabulary in both languages', () => {
    const groups: [keyof typeof zhCN.enums, readonly string[]][] = [
      ['level', enums.REGION_LEVELS],
      ['itemType', enums.ITEM_TYPES],
      ['audience', enums.AUDIENCES],
      ['materialForm', enums.MATERIAL_FORMS],
      ['siteType', enums.SITE_TYPES],
      ['terminalModel', enums.TERMINAL_MODELS],
      ['terminalStatus', enums.TERMINAL_STATUSES],
      ['role', enums.ROLES],
      ['peripheral', enums.PERIPHERALS],
      ['equipment', enums.SEAT_EQUIPMENT],
      ['language', enums.LANGUAGES],
      ['priority', queue.PRIORITIES],
      ['ticketState', queue.TICKET_STATES],
      ['agentState', queue.AGENT_STATES],
      ['notReadyReason', queue.NOT_READY_REASONS],
    ]
    for (const [group, values] of groups) {
      for (const v of values) {
        expect(Object.keys(zhCN.enums[group]), `${group}.${v}`).toContain(v)
        expect(Object.keys(en.enums[group]), `${group}.${v}`).toContain(v)
      }
    }
  })

  it('translates enum values in the current locale, raw value when unknown', () => {
    i18n.global.locale.value = 'zh-CN'
    expect(enumLabel('level', 'town')).toBe('镇街')
    expect(enumLabel('role', 'administrator')).toBe('系统管理员')
    expect(enumLabel('language', 'zh-CN')).toBe('普通话')
    i18n.global.locale.value = 'en'
    expect(enumLabel('itemType', 'administrative_license')).toBe('Administrative licence')
    expect(enumLabel('peripheral', 'braille_keyboard')).toBe('braille_keyboard')
    i18n.global.locale.value = 'zh-CN'
  })

  it('compiles every message (no stray vue-i18n syntax)', () => {
    for (const locale of ['zh-CN', 'en'] as const) {
      i18n.global.locale.value = locale
      for (const key of keys(zhCN)) {
        const out = i18n.global.t(key, { name: 'N', field: 'F', row: 1, status: 500, total: 3, promised: 1, legal: 2, created: 1, updated: 2, time: 'T', count: 4, days: 5, number: 'A001' })
        expect(out, `${locale}:${key}`).not.toBe(key)
        expect(out, `${locale}:${key}`).not.toMatch(/[{}]/)
      }
    }
    i18n.global.locale.value = 'zh-CN'
  })

  it('normalises locale tags', () => {
    expect(normaliseLocale('zh')).toBe('zh-CN')
    expect(normaliseLocale('en-GB')).toBe('en')
    expect(normaliseLocale('fr')).toBeNull()
    expect(normaliseLocale(null)).toBeNull()
  })
})
