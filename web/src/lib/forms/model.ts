/**
 * Application forms in the browser: the JSON Schema + layout hint of a service item's
 * form (src/cloudwindow/cases/forms.py documents the conventions) turned into sections
 * and fields to render, plus the checks the server makes, for instant feedback.
 *
 * Pure functions only; `SchemaForm.vue` renders what they compute, and the console's
 * form editor previews with them.
 */
import { maskIdNumber, maskName, maskPhone } from '../mask'
import { FORMAT_CHECKS, normalizeFormatted } from './formats'

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type FormValues = Record<string, JsonValue | undefined>
export type Locale = 'zh-CN' | 'en'
export interface Bilingual {
  'zh-CN': string
  en: string
}
export type PiiKind = 'name' | 'id_number' | 'phone' | 'address'
export type FieldType = 'string' | 'integer' | 'number' | 'boolean'
export type Widget = 'text' | 'textarea' | 'number' | 'date' | 'select' | 'radio' | 'checkbox'

export const FIELD_TYPES: readonly FieldType[] = ['string', 'integer', 'number', 'boolean']
export const WIDGETS: readonly Widget[] = ['text', 'textarea', 'number', 'date', 'select', 'radio', 'checkbox']
export const PII_KINDS: readonly PiiKind[] = ['name', 'id_number', 'phone', 'address']
/** A field checked as an ID or mobile number is personal data even without `x-pii`
 * (the server stores it encrypted and shows it masked the same way). */
export function piiOfFormat(format: unknown): PiiKind | null {
  return format === 'cn-resident-id' ? 'id_number' : format === 'cn-mobile' ? 'phone' : null
}
export const FORMATS = ['cn-resident-id', 'cn-mobile', 'cn-uscc', 'date'] as const
/** Which widgets can show which field type (forms.py WIDGETS_FOR_TYPE). */
export const WIDGETS_FOR_TYPE: Record<FieldType, readonly Widget[]> = {
  string: ['text', 'textarea', 'date', 'select', 'radio'],
  integer: ['number', 'select', 'radio'],
  number: ['number', 'select', 'radio'],
  boolean: ['checkbox', 'radio'],
}
/** Longest text any field accepts (forms.py MAX_TEXT). */
export const MAX_TEXT = 2000

export interface FieldSchema {
  type: FieldType
  title?: string
  'x-title-en'?: string
  description?: string
  'x-description-en'?: string
  format?: string
  enum?: JsonValue[]
  'x-enum-titles'?: Partial<Bilingual>[]
  minLength?: number
  maxLength?: number
  pattern?: string
  minimum?: number
  maximum?: number
  default?: JsonValue
  'x-pii'?: PiiKind
}

interface RequiredPart {
  properties?: Record<string, { const?: JsonValue; enum?: JsonValue[] }>
  required?: string[]
}
export interface Condition {
  if?: RequiredPart
  then?: RequiredPart
  else?: RequiredPart
}

export interface FormSchema {
  $schema?: string
  title?: string
  'x-title-en'?: string
  type?: 'object'
  properties: Record<string, FieldSchema>
  required?: string[]
  additionalProperties?: boolean
  allOf?: Condition[]
}

export interface VisibleWhen {
  field: string
  equals: JsonValue
}
export interface FieldHint {
  widget?: Widget
  visible_when?: VisibleWhen
  placeholder?: string
  placeholder_en?: string
  width?: 'full' | 'half'
}
export interface LayoutSection {
  id?: string
  title?: string
  title_en?: string
  fields: string[]
}
export interface FormLayout {
  version?: number
  sections?: LayoutSection[]
  fields?: Record<string, FieldHint>
}

export interface FieldOption {
  value: JsonValue
  label: Bilingual
}

/** Everything the renderer needs about one field. */
export interface FieldSpec {
  name: string
  type: FieldType
  widget: Widget
  title: Bilingual
  description: Bilingual | null
  placeholder: Bilingual | null
  options: FieldOption[]
  pii: PiiKind | null
  format: string | null
  maxLength: number | null
  minimum: number | null
  maximum: number | null
  width: 'full' | 'half'
  visibleWhen: VisibleWhen | null
}

export interface SectionSpec {
  id: string
  title: Bilingual | null
  fields: FieldSpec[]
}

/** A problem to show next to a field: the server's FieldError or our own check. */
export interface FieldMessage {
  field: string
  error_id?: string
  message: Partial<Bilingual> | Record<string, string>
}

function bi(zh: string | undefined, en: string | undefined, fallback = ''): Bilingual {
  const z = zh || en || fallback
  return { 'zh-CN': z, en: en || z }
}

/** The text of a bilingual label in `locale` (the other language if that one is empty). */
export function localText(text: Partial<Bilingual> | Record<string, string> | null | undefined, locale: Locale): string {
  if (!text) return ''
  const t = text as Record<string, string | undefined>
  return t[locale] || t['zh-CN'] || t.en || ''
}

function defaultWidget(f: FieldSchema): Widget {
  if (f.type === 'boolean') return 'checkbox'
  if (f.enum && f.enum.length > 0) return f.enum.length <= 4 ? 'radio' : 'select'
  if (f.type === 'integer' || f.type === 'number') return 'number'
  if (f.format === 'date') return 'date'
  return 'text'
}

export function fieldSpec(schema: FormSchema, layout: FormLayout | null | undefined, name: string): FieldSpec {
  const f = schema.properties[name]
  const hint = layout?.fields?.[name] ?? {}
  const asked = hint.widget
  const widget = asked && WIDGETS_FOR_TYPE[f.type]?.includes(asked) ? asked : defaultWidget(f)
  const titles = f['x-enum-titles'] ?? []
  const options: FieldOption[] =
    f.enum?.map((value, i) => ({ value, label: bi(titles[i]?.['zh-CN'], titles[i]?.en, String(value)) })) ??
    (widget === 'radio' && f.type === 'boolean'
      ? [
          { value: true, label: { 'zh-CN': '是', en: 'Yes' } },
          { value: false, label: { 'zh-CN': '否', en: 'No' } },
        ]
      : [])
  return {
    name,
    type: f.type,
    widget,
    title: bi(f.title, f['x-title-en'], name),
    description: f.description || f['x-description-en'] ? bi(f.description, f['x-description-en']) : null,
    placeholder: hint.placeholder || hint.placeholder_en ? bi(hint.placeholder, hint.placeholder_en) : null,
    options,
    pii: f['x-pii'] ?? piiOfFormat(f.format),
    format: f.format ?? null,
    maxLength: f.maxLength ?? null,
    minimum: f.minimum ?? null,
    maximum: f.maximum ?? null,
    width: hint.width ?? (widget === 'textarea' ? 'full' : 'half'),
    visibleWhen: hint.visible_when ?? null,
  }
}

/** The form's sections in layout order; fields no section names come last, in schema order. */
export function formSections(schema: FormSchema, layout?: FormLayout | null): SectionSpec[] {
  const names = Object.keys(schema.properties ?? {})
  const placed = new Set<string>()
  const sections: SectionSpec[] = []
  for (const [i, s] of (layout?.sections ?? []).entries()) {
    const fields = s.fields.filter((n) => names.includes(n) && !placed.has(n))
    fields.forEach((n) => placed.add(n))
    if (fields.length === 0) continue
    sections.push({
      id: s.id || `section-${i + 1}`,
      title: s.title || s.title_en ? bi(s.title, s.title_en) : null,
      fields: fields.map((n) => fieldSpec(schema, layout, n)),
    })
  }
  const rest = names.filter((n) => !placed.has(n))
  if (rest.length > 0) {
    sections.push({
      id: 'more',
      title: sections.length > 0 ? { 'zh-CN': '其他信息', en: 'More' } : null,
      fields: rest.map((n) => fieldSpec(schema, layout, n)),
    })
  }
  return sections
}

export function blank(value: JsonValue | undefined): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
}

function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

function partHolds(part: RequiredPart, values: FormValues): boolean {
  for (const name of part.required ?? []) if (blank(values[name])) return false
  for (const [name, rule] of Object.entries(part.properties ?? {})) {
    const v = values[name]
    if (blank(v)) continue // JSON Schema: a missing property satisfies "properties"
    if ('const' in rule && !sameJson(v, rule.const)) return false
    if (rule.enum && !rule.enum.some((e) => sameJson(v, e))) return false
  }
  return true
}

/** The fields required with these values: `required` plus the if/then/else conditions. */
export function requiredFields(schema: FormSchema, values: FormValues): Set<string> {
  const out = new Set(schema.required ?? [])
  for (const cond of schema.allOf ?? []) {
    const branch = cond.if === undefined || partHolds(cond.if, values) ? cond.then : cond.else
    for (const name of branch?.required ?? []) out.add(name)
  }
  return out
}

export function isVisible(spec: FieldSpec, values: FormValues): boolean {
  const when = spec.visibleWhen
  return when === null || sameJson(values[when.field], when.equals)
}

/** What a screen shows of a personal-data value (same masks as the server's). */
export function maskValue(kind: PiiKind | null, value: JsonValue | undefined): string {
  if (blank(value)) return ''
  const text = String(value)
  switch (kind) {
    case 'id_number':
      return maskIdNumber(text)
    case 'phone':
      return maskPhone(text)
    case 'name':
      return maskName(text)
    case 'address':
      return Array.from(text).slice(0, 6).join('') + '****'
    default:
      return text
  }
}

/** Turn what an input produced into the field's JSON value ('' → null; numbers parsed). */
export function coerce(spec: FieldSpec, raw: string | boolean): JsonValue {
  if (typeof raw === 'boolean') return raw
  if (spec.options.length > 0 && raw !== '') {
    const hit = spec.options.find((o) => String(o.value) === raw)
    if (hit) return hit.value
  }
  if (spec.type === 'integer' || spec.type === 'number') {
    if (raw.trim() === '') return null
    const n = Number(raw)
    return Number.isFinite(n) ? n : raw
  }
  return raw === '' ? null : raw
}

/** The value as an input shows it. */
export function inputText(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return ''
  return typeof value === 'object' ? JSON.stringify(value) : String(value)
}

const MSG = {
  required: ['为必填项', 'is required'],
  'wrong-type': ['格式不正确', 'has the wrong type'],
  'cn-resident-id': ['不是有效的 18 位身份证号码，请核对（含最后一位校验码）', 'is not a valid 18-digit resident ID number (check the last character)'],
  'cn-mobile': ['不是有效的 11 位手机号码', 'is not a valid 11-digit mobile number'],
  'cn-uscc': ['不是有效的 18 位统一社会信用代码', 'is not a valid 18-character unified social credit code'],
  date: ['不是有效的日期（年-月-日）', 'is not a valid date (YYYY-MM-DD)'],
} as const

function say(key: keyof typeof MSG, id: string): { id: string; text: Bilingual } {
  const [zh, en] = MSG[key]
  return { id, text: { 'zh-CN': zh, en } }
}

/**
 * The first problem of one field's value, as the server would name it (error id and the
 * message without the field's title), or null.
 */
export function checkField(
  spec: FieldSpec,
  value: JsonValue | undefined,
  required: boolean,
): { id: string; text: Bilingual } | null {
  if (blank(value)) return required ? say('required', 'field-required') : null
  if (spec.type === 'boolean') return typeof value === 'boolean' ? null : say('wrong-type', 'wrong-type')
  if (spec.type === 'integer' || spec.type === 'number') {
    if (typeof value !== 'number' || (spec.type === 'integer' && !Number.isInteger(value))) {
      return say('wrong-type', 'wrong-type')
    }
    if (spec.minimum !== null && value < spec.minimum) {
      return { id: 'too-small', text: { 'zh-CN': `不能小于 ${spec.minimum}`, en: `must be at least ${spec.minimum}` } }
    }
    if (spec.maximum !== null && value > spec.maximum) {
      return { id: 'too-large', text: { 'zh-CN': `不能大于 ${spec.maximum}`, en: `must be at most ${spec.maximum}` } }
    }
    return null
  }
  if (typeof value !== 'string') return say('wrong-type', 'wrong-type')
  const text = normalizeFormatted(spec.format ?? undefined, value)
  const limit = Math.min(spec.maxLength ?? MAX_TEXT, MAX_TEXT)
  if (Array.from(text).length > limit) {
    return { id: 'too-long', text: { 'zh-CN': `最多 ${limit} 个字`, en: `takes at most ${limit} characters` } }
  }
  const check = spec.format ? FORMAT_CHECKS[spec.format] : undefined
  if (check && !check(text) && spec.format && spec.format in MSG) {
    const ids: Record<string, string> = {
      'cn-resident-id': 'invalid-id-number',
      'cn-mobile': 'invalid-mobile',
      'cn-uscc': 'invalid-uscc',
      date: 'invalid-date',
    }
    return say(spec.format as keyof typeof MSG, ids[spec.format])
  }
  if (spec.options.length > 0 && !spec.options.some((o) => o.value === value)) {
    return { id: 'not-an-option', text: { 'zh-CN': '不是可选的值', en: 'is not one of the options' } }
  }
  return null
}

/** Problems of every visible field in form order, messages prefixed with the title like the server's. */
export function checkForm(schema: FormSchema, layout: FormLayout | null | undefined, values: FormValues): FieldMessage[] {
  const required = requiredFields(schema, values)
  const out: FieldMessage[] = []
  for (const section of formSections(schema, layout)) {
    for (const spec of section.fields) {
      if (!isVisible(spec, values)) continue
      const problem = checkField(spec, values[spec.name], required.has(spec.name))
      if (problem) {
        out.push({
          field: spec.name,
          error_id: problem.id,
          message: {
            'zh-CN': `「${spec.title['zh-CN']}」${problem.text['zh-CN']}`,
            en: `${spec.title.en}: ${problem.text.en}`,
          },
        })
      }
    }
  }
  return out
}

/** Field messages by field name; the first message of a field wins. */
export function messagesByField(errors: readonly FieldMessage[] | null | undefined): Record<string, FieldMessage> {
  const out: Record<string, FieldMessage> = {}
  for (const e of errors ?? []) if (!(e.field in out)) out[e.field] = e
  return out
}
