/**
 * The console's form editor works on a flat list of fields (add, remove, reorder, edit
 * type, titles, required, personal-data kind …) rather than on JSON Schema directly.
 * `fromForm` and `toForm` convert between the two; keywords the list does not edit
 * (patterns, conditions, visibility rules) are carried through unchanged.
 */
import {
  type Condition,
  type FieldHint,
  type FieldSchema,
  type FieldType,
  type FormLayout,
  type FormSchema,
  type JsonValue,
  type PiiKind,
  type Widget,
  WIDGETS_FOR_TYPE,
} from './model'

export const DRAFT = 'https://json-schema.org/draft/2020-12/schema'
export const FIELD_NAME = /^[a-z][a-z0-9_]{0,39}$/

export interface EditorOption {
  value: string
  zh: string
  en: string
}

export interface EditorField {
  /** Stable identity while the name is being edited. */
  key: number
  name: string
  type: FieldType
  title: string
  titleEn: string
  description: string
  descriptionEn: string
  required: boolean
  pii: PiiKind | ''
  format: string
  widget: Widget | ''
  width: '' | 'full' | 'half'
  maxLength: number | null
  minimum: number | null
  maximum: number | null
  options: EditorOption[]
  section: string
  /** Schema keywords the editor does not show (pattern, minLength, default …). */
  extra: Record<string, unknown>
  /** Layout hints the editor does not show (visible_when, placeholder …). */
  hintExtra: Record<string, unknown>
}

export interface EditorSection {
  id: string
  title: string
  titleEn: string
}

export interface EditorDoc {
  title: string
  titleEn: string
  sections: EditorSection[]
  fields: EditorField[]
  conditions: Condition[]
}

let nextKey = 1

const EDITED_KEYS = new Set([
  'type',
  'title',
  'x-title-en',
  'description',
  'x-description-en',
  'x-pii',
  'format',
  'maxLength',
  'minimum',
  'maximum',
  'enum',
  'x-enum-titles',
])

const STRING_ONLY = new Set(['pattern', 'minLength'])

function rest<T extends object>(obj: T | undefined, skip: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj ?? {}).filter(([k]) => !skip.has(k)))
}

export function fromForm(schema: FormSchema, layout: FormLayout | null | undefined): EditorDoc {
  const sections: EditorSection[] = (layout?.sections ?? []).map((s, i) => ({
    id: s.id || `section-${i + 1}`,
    title: s.title ?? '',
    titleEn: s.title_en ?? '',
  }))
  const sectionOf = new Map<string, string>()
  for (const [i, s] of (layout?.sections ?? []).entries()) for (const f of s.fields) sectionOf.set(f, sections[i].id)
  const required = new Set(schema.required ?? [])
  const fields = Object.entries(schema.properties ?? {}).map(([name, f]): EditorField => {
    const hint = layout?.fields?.[name] ?? {}
    const titles = f['x-enum-titles'] ?? []
    return {
      key: nextKey++,
      name,
      type: f.type,
      title: f.title ?? '',
      titleEn: f['x-title-en'] ?? '',
      description: f.description ?? '',
      descriptionEn: f['x-description-en'] ?? '',
      required: required.has(name),
      pii: f['x-pii'] ?? '',
      format: f.format ?? '',
      widget: hint.widget ?? '',
      width: hint.width ?? '',
      maxLength: f.maxLength ?? null,
      minimum: f.minimum ?? null,
      maximum: f.maximum ?? null,
      options: (f.enum ?? []).map((v, i) => ({
        value: String(v),
        zh: titles[i]?.['zh-CN'] ?? '',
        en: titles[i]?.en ?? '',
      })),
      section: sectionOf.get(name) ?? '',
      extra: rest(f, EDITED_KEYS),
      hintExtra: rest(hint, new Set(['widget', 'width'])),
    }
  })
  // Fields in a section the layout forgot to list go to the first section, if any.
  if (sections.length > 0) for (const f of fields) if (!f.section) f.section = sections[0].id
  return {
    title: schema.title ?? '',
    titleEn: schema['x-title-en'] ?? '',
    sections,
    fields,
    conditions: structuredClone(schema.allOf ?? []),
  }
}

function optionValue(type: FieldType, raw: string): JsonValue {
  if (type === 'integer' || type === 'number') {
    const n = Number(raw)
    return raw.trim() !== '' && Number.isFinite(n) ? n : raw
  }
  if (type === 'boolean') return raw === 'true'
  return raw
}

function fieldSchema(f: EditorField): FieldSchema {
  const out: Record<string, unknown> = { type: f.type, title: f.title }
  if (f.titleEn) out['x-title-en'] = f.titleEn
  if (f.description) out.description = f.description
  if (f.descriptionEn) out['x-description-en'] = f.descriptionEn
  if (f.type === 'string') {
    if (f.format) out.format = f.format
    if (f.maxLength !== null) out.maxLength = f.maxLength
    if (f.pii) out['x-pii'] = f.pii
  }
  if ((f.type === 'integer' || f.type === 'number') && f.minimum !== null) out.minimum = f.minimum
  if ((f.type === 'integer' || f.type === 'number') && f.maximum !== null) out.maximum = f.maximum
  if (f.options.length > 0 && f.type !== 'boolean') {
    out.enum = f.options.map((o) => optionValue(f.type, o.value))
    if (f.options.some((o) => o.zh || o.en)) {
      out['x-enum-titles'] = f.options.map((o) => ({ 'zh-CN': o.zh || o.value, en: o.en || o.zh || o.value }))
    }
  }
  const kept = f.type === 'string' ? f.extra : rest(f.extra, STRING_ONLY)
  return { ...kept, ...out } as unknown as FieldSchema
}

/** The schema and layout the editor's document stands for. */
export function toForm(doc: EditorDoc): { schema: FormSchema; layout: FormLayout } {
  const schema: FormSchema = {
    $schema: DRAFT,
    ...(doc.title ? { title: doc.title } : {}),
    ...(doc.titleEn ? { 'x-title-en': doc.titleEn } : {}),
    type: 'object',
    properties: Object.fromEntries(doc.fields.map((f) => [f.name, fieldSchema(f)])),
    required: doc.fields.filter((f) => f.required).map((f) => f.name),
    additionalProperties: false,
  }
  if (doc.conditions.length > 0) schema.allOf = structuredClone(doc.conditions)
  const hints: Record<string, FieldHint> = {}
  for (const f of doc.fields) {
    const hint: Record<string, unknown> = { ...f.hintExtra }
    if (f.widget && WIDGETS_FOR_TYPE[f.type].includes(f.widget)) hint.widget = f.widget
    if (f.width) hint.width = f.width
    if (Object.keys(hint).length > 0) hints[f.name] = hint as FieldHint
  }
  const layout: FormLayout = {
    version: 1,
    sections: doc.sections
      .map((s) => ({
        id: s.id,
        title: s.title,
        title_en: s.titleEn,
        fields: doc.fields.filter((f) => f.section === s.id).map((f) => f.name),
      }))
      .filter((s) => s.fields.length > 0),
    fields: hints,
  }
  return { schema, layout }
}

/** A new text field with a free name (`field_1`, `field_2` …) at the end of `section`. */
export function addField(doc: EditorDoc, type: FieldType = 'string', section = ''): EditorField {
  let n = doc.fields.length + 1
  while (doc.fields.some((f) => f.name === `field_${n}`)) n++
  const field: EditorField = {
    key: nextKey++,
    name: `field_${n}`,
    type,
    title: '新字段',
    titleEn: 'New field',
    description: '',
    descriptionEn: '',
    required: false,
    pii: '',
    format: '',
    widget: '',
    width: '',
    maxLength: type === 'string' ? 100 : null,
    minimum: null,
    maximum: null,
    options: [],
    section: section || doc.sections[doc.sections.length - 1]?.id || '',
    extra: {},
    hintExtra: {},
  }
  doc.fields.push(field)
  return field
}

function dropFromConditions(doc: EditorDoc, name: string, rename?: string): void {
  for (const cond of doc.conditions) {
    for (const part of [cond.if, cond.then, cond.else]) {
      if (!part) continue
      if (part.required) {
        part.required = rename ? part.required.map((r) => (r === name ? rename : r)) : part.required.filter((r) => r !== name)
      }
      if (part.properties && name in part.properties) {
        if (rename) part.properties[rename] = part.properties[name]
        delete part.properties[name]
      }
    }
  }
  // A condition whose "if" tested the removed field means nothing any more.
  if (!rename) doc.conditions = doc.conditions.filter((c) => !c.if || Object.keys(c.if.properties ?? {}).length > 0)
  for (const f of doc.fields) {
    const when = f.hintExtra.visible_when as { field?: string } | undefined
    if (when?.field === name) {
      if (rename) f.hintExtra.visible_when = { ...when, field: rename }
      else delete f.hintExtra.visible_when
    }
  }
}

export function removeField(doc: EditorDoc, key: number): void {
  const i = doc.fields.findIndex((f) => f.key === key)
  if (i < 0) return
  const [gone] = doc.fields.splice(i, 1)
  dropFromConditions(doc, gone.name)
}

/** Rename a field and every reference to it (conditions, visibility rules). */
export function renameField(doc: EditorDoc, key: number, name: string): void {
  const f = doc.fields.find((x) => x.key === key)
  if (!f || f.name === name) return
  const old = f.name
  f.name = name
  dropFromConditions(doc, old, name)
}

/** Move a field up (-1) or down (+1) among the fields of its section; no-op at either end. */
export function moveField(doc: EditorDoc, key: number, delta: -1 | 1): void {
  const i = doc.fields.findIndex((f) => f.key === key)
  if (i < 0) return
  const section = doc.fields[i].section
  let j = i + delta
  while (j >= 0 && j < doc.fields.length && doc.fields[j].section !== section) j += delta
  if (j < 0 || j >= doc.fields.length) return
  ;[doc.fields[i], doc.fields[j]] = [doc.fields[j], doc.fields[i]]
}

/** Problems the editor can see before asking the server (names, titles, options). */
export function editorProblems(doc: EditorDoc): { key: number | null; text: { 'zh-CN': string; en: string } }[] {
  const out: { key: number | null; text: { 'zh-CN': string; en: string } }[] = []
  const seen = new Set<string>()
  if (doc.fields.length === 0) out.push({ key: null, text: { 'zh-CN': '表单至少需要一个字段', en: 'A form needs at least one field' } })
  for (const f of doc.fields) {
    if (!FIELD_NAME.test(f.name)) {
      out.push({
        key: f.key,
        text: {
          'zh-CN': `字段名 ${f.name || '（空）'} 只能用小写字母、数字和下划线，以字母开头`,
          en: `Field name ${f.name || '(empty)'}: a-z, 0-9 and _, starting with a letter`,
        },
      })
    } else if (seen.has(f.name)) {
      out.push({ key: f.key, text: { 'zh-CN': `字段名 ${f.name} 重复`, en: `Field name ${f.name} is used twice` } })
    }
    seen.add(f.name)
    if (!f.title.trim()) out.push({ key: f.key, text: { 'zh-CN': `字段 ${f.name} 需要中文标题`, en: `Field ${f.name} needs a title` } })
    if ((f.widget === 'select' || f.widget === 'radio') && f.type !== 'boolean' && f.options.length === 0) {
      out.push({ key: f.key, text: { 'zh-CN': `字段 ${f.name} 需要选项`, en: `Field ${f.name} needs options` } })
    }
  }
  return out
}

/** Options as the editor's textarea shows them: one per line, `value|中文|English`. */
export function optionsToText(options: EditorOption[]): string {
  return options.map((o) => [o.value, o.zh, o.en].join('|').replace(/\|+$/, '')).join('\n')
}

export function optionsFromText(text: string): EditorOption[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [value, zh = '', en = ''] = line.split('|').map((s) => s.trim())
      return { value, zh, en }
    })
}
