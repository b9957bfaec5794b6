import { describe, expect, it } from 'vitest'
import { isIsoDate, isMobile, isResidentId, isUscc, normalizeFormatted, residentIdCheckChar, usccCheckChar } from '../forms/formats'
import {
  checkField,
  checkForm,
  coerce,
  fieldSpec,
  formSections,
  isVisible,
  maskValue,
  messagesByField,
  requiredFields,
  type FormSchema,
} from '../forms/model'
import { BOTH, PERSON } from './fixtures/forms'


describe('formats (same vectors as tests/unit/cases/test_forms.py)', () => {
  it.each([
    ['11010519491231002X', true],
    ['440524188001010014', true],
    ['110105194912310021', false],
    ['11010519491231002x', false],
    ['110105194902310028', false],
    ['990105194912310021', false],
    ['11010519491231002', false],
    ['', false],
  ])('resident ID %s → %s', (value, ok) => {
    expect(isResidentId(value)).toBe(ok)
  })

  it('computes the GB 11643 check digit of the standard example', () => {
    expect(residentIdCheckChar('11010519491231002')).toBe('X')
  })

  it('catches every single wrong check character', () => {
    const body = '44011819800101123'
    const good = body + residentIdCheckChar(body)
    expect(isResidentId(good)).toBe(true)
    for (const c of '0123456789X') if (c !== good[17]) expect(isResidentId(body + c)).toBe(false)
  })

  it.each([
    ['13800138000', true],
    ['19912345678', true],
    ['12345678901', false],
    ['1380013800', false],
    ['020-12345678', false],
  ])('mobile %s → %s', (value, ok) => {
    expect(isMobile(value)).toBe(ok)
  })

  it.each([
    ['91350100M000100Y43', true],
    ['91350100M000100Y44', false],
    ['91350100M0001O0Y43', false],
    ['913501X0M000100Y43', false],
  ])('credit code %s → %s', (value, ok) => {
    expect(isUscc(value)).toBe(ok)
  })

  it('round-trips credit-code check characters', () => {
    for (const body of ['91440118MA5CXXXX0', '12440000455859452', '52440118MJL123456']) {
      const code = body + usccCheckChar(body)
      expect(isUscc(code)).toBe(true)
    }
  })

  it('checks real dates and normalizes like the server', () => {
    expect(isIsoDate('2026-02-28')).toBe(true)
    expect(isIsoDate('2026-02-29')).toBe(false)
    expect(isIsoDate('2026-2-8')).toBe(false)
    expect(normalizeFormatted('cn-resident-id', ' 11010519491231002x ')).toBe('11010519491231002X')
    expect(normalizeFormatted('cn-mobile', '138 0013-8000')).toBe('13800138000')
    expect(normalizeFormatted(undefined, '  张三 ')).toBe('张三')
  })
})

describe('form model', () => {
  it('lays the default form out in its sections, in order', () => {
    const sections = formSections(PERSON.schema, PERSON.layout)
    expect(sections.map((s) => s.id)).toEqual(['applicant', 'details'])
    expect(sections[0].title).toEqual({ 'zh-CN': '申请人信息', en: 'Applicant' })
    expect(sections[0].fields.map((f) => f.name)).toEqual(['applicant_name', 'id_number', 'phone', 'address'])
    const address = sections[0].fields[3]
    expect([address.widget, address.width, address.pii]).toEqual(['textarea', 'full', 'address'])
    expect(sections[0].fields[1].title).toEqual({ 'zh-CN': '公民身份号码', en: 'Resident ID number' })
  })

  it('puts fields no section lists last, and ignores unknown names in the layout', () => {
    const schema: FormSchema = {
      properties: { a: { type: 'string', title: '甲' }, b: { type: 'integer', title: '乙' } },
    }
    const sections = formSections(schema, { sections: [{ id: 's', title: '一', fields: ['b', 'ghost'] }] })
    expect(sections.map((s) => [s.id, s.fields.map((f) => f.name)])).toEqual([
      ['s', ['b']],
      ['more', ['a']],
    ])
    expect(sections[0].fields[0].widget).toBe('number')
    expect(formSections(schema, null)[0].title).toBeNull()
  })

  it('labels options and picks radio for a few, select for many', () => {
    const spec = fieldSpec(BOTH.schema, BOTH.layout, 'applicant_type')
    expect(spec.widget).toBe('radio')
    expect(spec.options.map((o) => o.label['zh-CN'])).toEqual(['个人', '法人或其他组织'])
    const many: FormSchema = { properties: { k: { type: 'string', enum: ['a', 'b', 'c', 'd', 'e'] } } }
    expect(fieldSpec(many, null, 'k').widget).toBe('select')
    expect(fieldSpec(many, { fields: { k: { widget: 'checkbox' } } }, 'k').widget).toBe('select') // unfit hint ignored
  })

  it('evaluates conditional requirements and visibility like the server', () => {
    expect([...requiredFields(BOTH.schema, {})].sort()).toEqual(
      ['applicant_name', 'applicant_type', 'id_number', 'phone', 'property_location'].sort(),
    )
    const org = requiredFields(BOTH.schema, { applicant_type: 'legal_person' })
    expect(org.has('uscc') && org.has('legal_representative') && !org.has('id_number')).toBe(true)
    const uscc = fieldSpec(BOTH.schema, BOTH.layout, 'uscc')
    expect(isVisible(uscc, { applicant_type: 'individual' })).toBe(false)
    expect(isVisible(uscc, { applicant_type: 'legal_person' })).toBe(true)
    expect(isVisible(fieldSpec(BOTH.schema, BOTH.layout, 'phone'), {})).toBe(true)
  })

  it('checks fields with the server error ids and messages', () => {
    const spec = (n: string) => fieldSpec(PERSON.schema, PERSON.layout, n)
    expect(checkField(spec('applicant_name'), '  ', true)?.id).toBe('field-required')
    expect(checkField(spec('applicant_name'), '', false)).toBeNull()
    expect(checkField(spec('id_number'), '110105194912310021', true)?.id).toBe('invalid-id-number')
    expect(checkField(spec('id_number'), '11010519491231002x', true)).toBeNull() // normalized first
    expect(checkField(spec('phone'), '1234', true)?.text['zh-CN']).toBe('不是有效的 11 位手机号码')
    expect(checkField(spec('applicant_name'), '张'.repeat(51), true)?.id).toBe('too-long')
    const n = fieldSpec({ properties: { n: { type: 'integer', minimum: 1, maximum: 9 } } }, null, 'n')
    expect([checkField(n, 0, false)?.id, checkField(n, 10, false)?.id, checkField(n, 1.5, false)?.id]).toEqual([
      'too-small',
      'too-large',
      'wrong-type',
    ])
  })

  it('checks only visible fields of the whole form, in order, titled like the server', () => {
    const problems = checkForm(BOTH.schema, BOTH.layout, { applicant_type: 'individual', phone: '138' })
    expect(problems.map((p) => [p.field, p.error_id])).toEqual([
      ['applicant_name', 'field-required'],
      ['id_number', 'field-required'],
      ['phone', 'invalid-mobile'],
      ['property_location', 'field-required'],
    ])
    expect(problems[0].message).toEqual({ 'zh-CN': '「申请人姓名」为必填项', en: "Applicant's name: is required" })
    expect(messagesByField(problems).phone.error_id).toBe('invalid-mobile')
  })

  it('masks personal data as the server does', () => {
    expect(maskValue('id_number', '11010519491231002X')).toBe('1101**********002X')
    expect(maskValue('phone', '13800138000')).toBe('138****8000')
    expect(maskValue('name', '欧阳娜娜')).toBe('欧***')
    expect(maskValue('address', '增城区荔城街府佑路1号')).toBe('增城区荔城街****')
    expect(maskValue(null, 'x')).toBe('x')
    expect(maskValue('phone', null)).toBe('')
  })

  it('coerces what inputs produce into JSON values', () => {
    const n = fieldSpec({ properties: { n: { type: 'number' } } }, null, 'n')
    expect([coerce(n, '3.5'), coerce(n, ''), coerce(n, 'x')]).toEqual([3.5, null, 'x'])
    const e = fieldSpec({ properties: { e: { type: 'integer', enum: [1, 2] } } }, null, 'e')
    expect(coerce(e, '2')).toBe(2)
    const s = fieldSpec(PERSON.schema, null, 'applicant_name')
    expect([coerce(s, ''), coerce(s, '张三'), coerce(s, true)]).toEqual([null, '张三', true])
  })
})
