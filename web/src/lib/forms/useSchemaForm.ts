/**
 * The state and behaviour of the form renderer (SchemaForm.vue), apart from its markup:
 * what each field shows, which errors are visible, what an input event emits.
 */
import { computed, reactive, ref } from 'vue'
import { currentLocale } from '../i18n'
import {
  checkForm,
  coerce,
  formSections,
  inputText,
  isVisible,
  localText,
  maskValue,
  messagesByField,
  requiredFields,
  type Bilingual,
  type FieldMessage,
  type FieldSpec,
  type FormLayout,
  type FormSchema,
  type FormValues,
  type JsonValue,
  type Locale,
} from './model'

export interface SchemaFormProps {
  schema: FormSchema
  layout?: FormLayout | null
  modelValue: FormValues
  /** Problems to show (the server's FieldErrors: `[{field, message: {zh-CN, en}}]`). */
  errors?: readonly FieldMessage[] | null
  /** Check fields in the browser as they are left (and all after `touchAll()`). */
  liveCheck?: boolean
  readonly?: boolean
  /** Show personal-data (x-pii) fields masked and not editable. */
  maskPii?: boolean
  /** Kiosk: large type and touch targets. */
  large?: boolean
  locale?: Locale
  /** Fields the other side changed recently: true, or a label saying who ("坐席修改"). */
  remoteEdits?: Record<string, boolean | string | Partial<Bilingual>>
  /** Fields whose edit lost to the other side's: what this side typed. */
  conflicts?: Record<string, { mine: JsonValue } | undefined>
  /** Fields with an edit on its way to the server. */
  pending?: Record<string, unknown>
  /** Fields that may not be edited here (e.g. read from the ID card). */
  lockedFields?: readonly string[]
}

type Emit = (event: string, ...args: unknown[]) => void

const UI: Record<string, Bilingual> = {
  required: { 'zh-CN': '必填', en: 'required' },
  choose: { 'zh-CN': '请选择', en: 'Choose…' },
  yes: { 'zh-CN': '是', en: 'Yes' },
  no: { 'zh-CN': '否', en: 'No' },
  remote: { 'zh-CN': '对方刚修改', en: 'Changed by the other side' },
  saving: { 'zh-CN': '保存中…', en: 'Saving…' },
  conflict: {
    'zh-CN': '您输入的“{mine}”未保存：对方先修改了此项。',
    en: 'What you typed (“{mine}”) was not saved: the other side changed this field first.',
  },
  keepMine: { 'zh-CN': '改回我输入的', en: 'Use mine' },
  empty: { 'zh-CN': '（未填写）', en: '(empty)' },
}

export function useSchemaForm(props: SchemaFormProps, emit: Emit) {
  const lang = computed<Locale>(() => props.locale ?? currentLocale())
  const ui = (key: string, vars: Record<string, string> = {}): string =>
    localText(UI[key], lang.value).replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? '')
  const tx = (b: Partial<Bilingual> | Record<string, string> | null | undefined): string => localText(b, lang.value)

  const sections = computed(() => formSections(props.schema, props.layout))
  const required = computed(() => requiredFields(props.schema, props.modelValue))
  const touched = reactive(new Set<string>())
  const allTouched = ref(false)

  const shownErrors = computed(() => {
    const given = messagesByField(props.errors)
    if (!props.liveCheck) return given
    const local = messagesByField(checkForm(props.schema, props.layout, props.modelValue))
    const out: Record<string, FieldMessage> = {}
    for (const [field, m] of Object.entries(local)) if (allTouched.value || touched.has(field)) out[field] = m
    return { ...out, ...given }
  })

  /** The message without the field's title in front (the label already says it). */
  function errorText(spec: FieldSpec): string {
    const m = shownErrors.value[spec.name]
    if (!m) return ''
    const text = tx(m.message)
    const prefixes = [`「${spec.title['zh-CN']}」`, `${spec.title.en}: `]
    const hit = prefixes.find((p) => text.startsWith(p))
    return hit ? text.slice(hit.length) : text
  }

  function masked(spec: FieldSpec): boolean {
    return !!props.maskPii && spec.pii !== null
  }

  function editable(spec: FieldSpec): boolean {
    return !props.readonly && !masked(spec) && !(props.lockedFields ?? []).includes(spec.name)
  }

  function displayValue(spec: FieldSpec): string {
    const v = props.modelValue[spec.name]
    if (v === undefined || v === null || v === '') return ui('empty')
    if (masked(spec)) return maskValue(spec.pii, v)
    const option = spec.options.find((o) => o.value === v)
    if (option) return tx(option.label)
    if (typeof v === 'boolean') return ui(v ? 'yes' : 'no')
    return inputText(v)
  }

  function remoteLabel(name: string): string {
    const r = props.remoteEdits?.[name]
    if (!r) return ''
    if (r === true) return ui('remote')
    return typeof r === 'string' ? r : tx(r)
  }

  /** A field got a new value from its input: the whole form and the one field are emitted. */
  function set(spec: FieldSpec, raw: string | boolean): void {
    const value = coerce(spec, raw)
    emit('update:modelValue', { ...props.modelValue, [spec.name]: value })
    emit('field-change', { field: spec.name, value })
  }

  function onInput(spec: FieldSpec, event: Event): void {
    const el = event.target as HTMLInputElement
    set(spec, spec.widget === 'checkbox' ? el.checked : el.value)
  }

  function onBlur(name: string): void {
    touched.add(name)
    emit('field-blur', name)
  }

  function inputMode(spec: FieldSpec): 'tel' | 'numeric' | 'decimal' | undefined {
    if (spec.format === 'cn-mobile') return 'tel'
    if (spec.type === 'integer') return 'numeric'
    if (spec.type === 'number') return 'decimal'
    return undefined
  }

  function fieldId(name: string): string {
    return `sf-${name}`
  }

  /** Show the browser's own check of every field (before submitting). */
  function touchAll(): void {
    allTouched.value = true
  }

  return {
    lang,
    ui,
    tx,
    sections,
    required,
    shownErrors,
    errorText,
    masked,
    editable,
    displayValue,
    remoteLabel,
    set,
    onInput,
    onBlur,
    inputMode,
    fieldId,
    touchAll,
    isVisible,
    inputText,
  }
}
