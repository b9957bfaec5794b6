/**
 * The form renderer, mounted with a tiny in-memory renderer (the test environment has no
 * DOM): what a user sees (labels, required marks, errors, masked values, the other side's
 * edits) and what it emits when they type, tick or leave a field.
 */
import { createRenderer, h, nextTick, reactive } from 'vue'
import { describe, expect, it } from 'vitest'
import SchemaForm from '../forms/SchemaForm.vue'
import type { FieldMessage, FormLayout, FormSchema, FormValues, JsonValue, Locale } from '../forms/model'
import both from './fixtures/form-default-both.json'
import person from './fixtures/form-default-person.json'

const BOTH = both as unknown as { schema: FormSchema; layout: FormLayout }
const PERSON = person as unknown as { schema: FormSchema; layout: FormLayout }

interface FNode {
  tag: string
  props: Record<string, unknown>
  children: FNode[]
  text: string
  parent: FNode | null
}

function node(tag: string, text = ''): FNode {
  return { tag, props: {}, children: [], text, parent: null }
}

function detach(child: FNode): void {
  const p = child.parent
  if (p) p.children.splice(p.children.indexOf(child), 1)
  child.parent = null
}

const { createApp } = createRenderer<FNode, FNode>({
  createElement: (tag) => node(tag),
  createText: (text) => node('#text', text),
  createComment: (text) => node('#comment', text),
  setText: (n, text) => {
    n.text = text
  },
  setElementText: (el, text) => {
    for (const c of el.children) c.parent = null
    el.children = []
    if (text) {
      const t = node('#text', text)
      t.parent = el
      el.children.push(t)
    }
  },
  insert: (child, parent, anchor) => {
    detach(child)
    const i = anchor ? parent.children.indexOf(anchor) : -1
    if (i >= 0) parent.children.splice(i, 0, child)
    else parent.children.push(child)
    child.parent = parent
  },
  remove: detach,
  parentNode: (n) => n.parent,
  nextSibling: (n) => (n.parent ? (n.parent.children[n.parent.children.indexOf(n) + 1] ?? null) : null),
  patchProp: (el, key, _prev, next) => {
    el.props[key] = next
  },
})

function all(root: FNode, pred: (n: FNode) => boolean): FNode[] {
  const out: FNode[] = []
  const walk = (n: FNode): void => {
    if (pred(n)) out.push(n)
    n.children.forEach(walk)
  }
  walk(root)
  return out
}

function textOf(n: FNode): string {
  if (n.tag === '#text') return n.text
  if (n.tag === '#comment') return ''
  return n.children.map(textOf).join('')
}

const byTest = (root: FNode, id: string) => all(root, (n) => n.props['data-test'] === id)

function field(root: FNode, name: string): FNode {
  const [f] = byTest(root, `form-field-${name}`)
  if (!f) throw new Error(`no field ${name}`)
  return f
}

function control(root: FNode, name: string): FNode {
  const [c] = all(field(root, name), (n) => ['input', 'textarea', 'select'].includes(n.tag))
  if (!c) throw new Error(`no control for ${name}`)
  return c
}

function type(root: FNode, name: string, value: string): void {
  ;(control(root, name).props.onInput as (e: unknown) => void)({ target: { value } })
}

interface Props {
  schema: FormSchema
  layout: FormLayout
  values: FormValues
  errors?: FieldMessage[]
  readonly?: boolean
  maskPii?: boolean
  large?: boolean
  liveCheck?: boolean
  locale?: Locale
  remoteEdits?: Record<string, boolean | string>
  conflicts?: Record<string, { mine: JsonValue }>
}

function mount(initial: Props) {
  const state = reactive({ ...initial }) as Props
  const changes: { field: string; value: JsonValue }[] = []
  const kept: string[] = []
  const root = node('root')
  createApp({
    render: () =>
      h(SchemaForm, {
        schema: state.schema,
        layout: state.layout,
        modelValue: state.values,
        errors: state.errors,
        readonly: state.readonly,
        maskPii: state.maskPii,
        large: state.large,
        liveCheck: state.liveCheck,
        locale: state.locale ?? 'zh-CN',
        remoteEdits: state.remoteEdits,
        conflicts: state.conflicts,
        'onUpdate:modelValue': (v: FormValues) => {
          state.values = v
        },
        onFieldChange: (e: { field: string; value: JsonValue }) => changes.push(e),
        onKeepMine: (f: string) => kept.push(f),
      }),
  }).mount(root)
  return { root, state, changes, kept }
}

describe('SchemaForm', () => {
  it('shows sections, labels and required marks', () => {
    const { root } = mount({ ...PERSON, values: {} })
    const legends = all(root, (n) => n.tag === 'legend').map(textOf)
    expect(legends).toEqual(['申请人信息', '申请事项'])
    expect(textOf(field(root, 'id_number'))).toContain('公民身份号码')
    expect(byTest(root, 'required-mark')).toHaveLength(3) // name, ID number, mobile
    expect(textOf(field(root, 'address'))).not.toContain('*')
    expect(control(root, 'address').tag).toBe('textarea')
    expect(control(root, 'phone').props.inputmode).toBe('tel')
  })

  it('speaks English when asked', () => {
    const { root } = mount({ ...PERSON, values: {}, locale: 'en' })
    expect(all(root, (n) => n.tag === 'legend').map(textOf)).toEqual(['Applicant', 'Application details'])
    expect(textOf(field(root, 'id_number'))).toContain('Resident ID number')
  })

  it('emits every keystroke per field and shows values the parent sets from outside', async () => {
    const { root, state, changes } = mount({ ...PERSON, values: { applicant_name: '张三' } })
    type(root, 'id_number', '1101051949')
    expect(changes).toEqual([{ field: 'id_number', value: '1101051949' }])
    expect(state.values).toEqual({ applicant_name: '张三', id_number: '1101051949' })
    await nextTick()
    expect(control(root, 'id_number').props.value).toBe('1101051949')
    // The other side (remote assistance) changed the phone: the parent sets it and marks it.
    state.values = { ...state.values, phone: '13800138000' }
    state.remoteEdits = { phone: '坐席修改' }
    await nextTick()
    expect(control(root, 'phone').props.value).toBe('13800138000')
    expect(textOf(byTest(field(root, 'phone'), 'remote-edit')[0])).toBe('坐席修改')
    expect(byTest(field(root, 'id_number'), 'remote-edit')).toHaveLength(0)
    type(root, 'applicant_name', '')
    expect(changes.at(-1)).toEqual({ field: 'applicant_name', value: null }) // cleared = null
  })

  it('tells the loser of a conflict what was not saved and lets them keep theirs', () => {
    const { root, kept } = mount({
      ...PERSON,
      values: { phone: '13900000000' },
      conflicts: { phone: { mine: '13800138000' } },
    })
    const box = byTest(field(root, 'phone'), 'conflict')[0]
    expect(textOf(box)).toContain('您输入的“13800138000”未保存')
    ;(byTest(box, 'keep-mine')[0].props.onClick as () => void)()
    expect(kept).toEqual(['phone'])
  })

  it('shows the server errors under their fields, without repeating the title', () => {
    const errors: FieldMessage[] = [
      {
        field: 'id_number',
        error_id: 'invalid-id-number',
        message: { 'zh-CN': '「公民身份号码」不是有效的 18 位身份证号码', en: 'Resident ID number: is not valid' },
      },
    ]
    const { root } = mount({ ...PERSON, values: { id_number: '1' }, errors })
    expect(byTest(root, 'field-error').map(textOf)).toEqual(['不是有效的 18 位身份证号码'])
    expect(control(root, 'id_number').props['aria-invalid']).toBe(true)
  })

  it('checks a field in the browser once it is left', async () => {
    const { root } = mount({ ...PERSON, values: { phone: '1380013' }, liveCheck: true })
    expect(byTest(root, 'field-error')).toHaveLength(0) // nothing before the citizen leaves it
    ;(control(root, 'phone').props.onBlur as () => void)()
    await nextTick()
    expect(byTest(root, 'field-error').map(textOf)).toEqual(['不是有效的 11 位手机号码'])
  })

  it('shows personal data masked and read-only when asked', () => {
    const values = { applicant_name: '张三丰', id_number: '11010519491231002X', phone: '13800138000', remarks: '补办' }
    const { root } = mount({ ...PERSON, values, maskPii: true })
    expect(textOf(field(root, 'id_number'))).toContain('1101**********002X')
    expect(textOf(field(root, 'phone'))).toContain('138****8000')
    expect(textOf(field(root, 'applicant_name'))).toContain('张**')
    expect(textOf(root)).not.toContain('13800138000')
    expect(() => control(root, 'phone')).toThrow() // no input for a masked field
    expect(control(root, 'remarks').props.value).toBe('补办') // others stay editable
  })

  it('read-only mode shows values and option labels, no inputs', () => {
    const { root } = mount({ ...BOTH, values: { applicant_type: 'legal_person', org_name: '某公司' }, readonly: true })
    expect(all(root, (n) => ['input', 'textarea', 'select'].includes(n.tag))).toHaveLength(0)
    expect(textOf(field(root, 'applicant_type'))).toContain('法人或其他组织')
    expect(textOf(field(root, 'uscc'))).toContain('（未填写）')
  })

  it('follows the applicant type: visible fields and required marks change with it', async () => {
    const { root, state, changes } = mount({ ...BOTH, values: { applicant_type: 'individual' } })
    expect(byTest(root, 'form-field-uscc')).toHaveLength(0)
    expect(byTest(field(root, 'id_number'), 'required-mark')).toHaveLength(1)
    const radios = all(field(root, 'applicant_type'), (n) => n.tag === 'input')
    expect(radios.map((r) => r.props.value)).toEqual(['individual', 'legal_person'])
    ;(radios[1].props.onChange as (e: unknown) => void)({ target: { value: 'legal_person' } })
    expect(changes).toEqual([{ field: 'applicant_type', value: 'legal_person' }])
    await nextTick()
    expect(state.values.applicant_type).toBe('legal_person')
    expect(byTest(root, 'form-field-id_number')).toHaveLength(0)
    expect(byTest(field(root, 'uscc'), 'required-mark')).toHaveLength(1)
  })

  it('large touch mode for the kiosk', () => {
    const { root } = mount({ ...PERSON, values: {}, large: true })
    const form = byTest(root, 'schema-form')[0]
    expect(String(form.props.class)).toContain('sf--large')
  })

  it('checkboxes emit booleans', () => {
    const schema: FormSchema = { properties: { agree: { type: 'boolean', title: '同意' } }, required: ['agree'] }
    const { root, changes } = mount({ schema, layout: {}, values: {} })
    const box = control(root, 'agree')
    expect(box.props.type).toBe('checkbox')
    ;(box.props.onChange as (e: unknown) => void)({ target: { checked: true } })
    expect(changes).toEqual([{ field: 'agree', value: true }])
  })
})
