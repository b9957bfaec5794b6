import { describe, expect, it } from 'vitest'
import {
  addField,
  editorProblems,
  fromForm,
  moveField,
  optionsFromText,
  optionsToText,
  removeField,
  renameField,
  toForm,
} from '../forms/editor'
import type { FormSchema } from '../forms/model'
import { BOTH, PERSON } from './fixtures/forms'


describe('form editor model', () => {
  it.each([
    ['a personal item', PERSON],
    ['an item for persons and organisations, with conditions and visibility rules', BOTH],
  ])('round-trips the server default form of %s unchanged', (_, form) => {
    const out = toForm(fromForm(form.schema, form.layout))
    expect(out.schema).toEqual(form.schema)
    expect(out.layout).toEqual(form.layout)
  })

  it('adds, reorders within a section and removes fields', () => {
    const doc = fromForm(PERSON.schema, PERSON.layout)
    const f = addField(doc, 'integer', 'applicant')
    expect(f.name).toBe('field_6')
    f.title = '家庭人口'
    f.required = true
    moveField(doc, f.key, -1) // above address
    moveField(doc, f.key, -1) // above phone
    let form = toForm(doc)
    expect(form.layout.sections?.[0].fields).toEqual(['applicant_name', 'id_number', 'field_6', 'phone', 'address'])
    expect(form.schema.properties.field_6).toEqual({ type: 'integer', title: '家庭人口', 'x-title-en': 'New field' })
    expect(form.schema.required).toContain('field_6')
    // Moving down past the last field of the section is a no-op, not a jump into "details".
    const address = doc.fields.find((x) => x.name === 'address')!
    moveField(doc, address.key, 1)
    expect(toForm(doc).layout.sections?.[0].fields.at(-1)).toBe('address')
    removeField(doc, f.key)
    form = toForm(doc)
    expect(form.schema.properties.field_6).toBeUndefined()
    expect(form.schema.required).toEqual(PERSON.schema.required)
  })

  it('renames and removes fields together with every reference to them', () => {
    const doc = fromForm(BOTH.schema, BOTH.layout)
    const type = doc.fields.find((f) => f.name === 'applicant_type')!
    renameField(doc, type.key, 'who')
    let form = toForm(doc)
    expect(form.schema.allOf?.[0].if?.properties).toHaveProperty('who')
    expect(form.layout.fields?.uscc.visible_when).toEqual({ field: 'who', equals: 'legal_person' })
    const uscc = doc.fields.find((f) => f.name === 'uscc')!
    removeField(doc, uscc.key)
    form = toForm(doc)
    expect(form.schema.allOf?.[0].then?.required).not.toContain('uscc')
    removeField(doc, doc.fields.find((f) => f.name === 'who')!.key)
    form = toForm(doc)
    expect(form.schema.allOf).toBeUndefined() // the condition tested the removed field
    expect(form.layout.fields?.org_name).toBeUndefined() // its visibility rule is gone too
  })

  it('keeps what it does not edit (patterns, lengths) and drops string-only keys from numbers', () => {
    const schema: FormSchema = {
      properties: {
        code: { type: 'string', title: '编号', pattern: '^[0-9]+$', minLength: 2, 'x-pii': 'name' },
      },
    }
    const doc = fromForm(schema, {})
    expect(toForm(doc).schema.properties.code).toEqual(schema.properties.code)
    doc.fields[0].type = 'integer'
    doc.fields[0].pii = 'name'
    expect(toForm(doc).schema.properties.code).toEqual({ type: 'integer', title: '编号' })
  })

  it('finds bad names, duplicates, missing titles and options before the server does', () => {
    const doc = fromForm(PERSON.schema, PERSON.layout)
    const a = addField(doc)
    a.name = 'Bad-Name'
    const b = addField(doc)
    b.name = 'phone'
    b.title = ' '
    const c = addField(doc)
    c.widget = 'select'
    const problems = editorProblems(doc)
    expect(problems.map((p) => [p.key, p.text.en])).toEqual([
      [a.key, 'Field name Bad-Name: a-z, 0-9 and _, starting with a letter'],
      [b.key, 'Field name phone is used twice'],
      [b.key, 'Field phone needs a title'],
      [c.key, `Field ${c.name} needs options`],
    ])
    expect(editorProblems({ ...doc, fields: [] })[0].key).toBeNull()
  })

  it('edits enum options as lines of value|中文|English', () => {
    const options = optionsFromText('a|选项一|Option one\n\n b | 二 \nc')
    expect(options).toEqual([
      { value: 'a', zh: '选项一', en: 'Option one' },
      { value: 'b', zh: '二', en: '' },
      { value: 'c', zh: '', en: '' },
    ])
    expect(optionsToText(options)).toBe('a|选项一|Option one\nb|二\nc')
    const doc = fromForm({ properties: { n: { type: 'integer', title: '数' } } }, {})
    doc.fields[0].options = optionsFromText('1|一\n2|二')
    expect(toForm(doc).schema.properties.n).toMatchObject({
      enum: [1, 2],
      'x-enum-titles': [
        { 'zh-CN': '一', en: '一' },
        { 'zh-CN': '二', en: '二' },
      ],
    })
  })
})
