/**
 * The form renderer: what a user sees (rendered to HTML: labels, required marks, errors,
 * masked values, the other side's edits, a lost conflict) and what it does when they
 * type or leave a field (its composable, driven like the template drives it).
 */
import { createSSRApp, effectScope, h, nextTick, reactive } from 'vue'
import { renderToString } from 'vue/server-renderer'
import { describe, expect, it } from 'vitest'
import SchemaForm from '../forms/SchemaForm.vue'
import { fieldSpec, type FieldMessage, type FormSchema, type JsonValue } from '../forms/model'
import { useSchemaForm, type SchemaFormProps } from '../forms/useSchemaForm'
import { BOTH, PERSON } from './fixtures/forms'


async function html(props: SchemaFormProps): Promise<string> {
  return renderToString(createSSRApp({ render: () => h(SchemaForm, { locale: 'zh-CN', ...props }) }))
}

/** The HTML of one field's block (from its data-test marker to the next field's). */
function block(page: string, name: string): string {
  const marker = page.indexOf(`data-test="form-field-${name}"`)
  if (marker < 0) return ''
  const next = page.indexOf('data-test="form-field-', marker + 1)
  const end = next < 0 ? page.length : page.lastIndexOf('<div', next)
  return page.slice(page.lastIndexOf('<div', marker), end)
}

const count = (text: string, needle: string) => text.split(needle).length - 1
const text = (fragment: string) => fragment.replace(/<[^>]*>/g, '').replace(/<!--.*?-->/g, '')

describe('SchemaForm markup', () => {
  it('shows sections, labels, required marks and fitting inputs', async () => {
    const page = await html({ ...PERSON, modelValue: { applicant_name: '张三' } })
    expect(page).toContain('<legend class="sf-section__title"')
    expect(text(page)).toContain('申请人信息')
    expect(text(page)).toContain('申请事项')
    expect(count(page, 'data-test="required-mark"')).toBe(3) // name, ID number, mobile
    expect(block(page, 'address')).not.toContain('required-mark')
    expect(block(page, 'address')).toContain('<textarea')
    expect(block(page, 'phone')).toContain('inputmode="tel"')
    expect(block(page, 'applicant_name')).toContain('value="张三"')
    expect(text(block(page, 'phone'))).toContain('用于接收办理进度短信和办件查询') // help text
  })

  it('speaks English when asked', async () => {
    const page = await html({ ...PERSON, modelValue: {}, locale: 'en' })
    expect(text(page)).toContain('Applicant')
    expect(text(block(page, 'id_number'))).toContain('Resident ID number')
    expect(text(page)).not.toContain('公民身份号码')
  })

  it('shows server errors under their fields without repeating the title', async () => {
    const errors: FieldMessage[] = [
      {
        field: 'id_number',
        error_id: 'invalid-id-number',
        message: { 'zh-CN': '「公民身份号码」不是有效的 18 位身份证号码', en: 'Resident ID number: is not valid' },
      },
    ]
    const page = await html({ ...PERSON, modelValue: { id_number: '1' }, errors })
    const id = block(page, 'id_number')
    expect(id).toContain('data-test="field-error"')
    expect(text(id)).toContain('不是有效的 18 位身份证号码')
    expect(text(id)).not.toContain('「公民身份号码」不是')
    expect(id).toContain('aria-invalid="true"')
    expect(count(page, 'data-test="field-error"')).toBe(1)
  })

  it("marks the other side's edits and tells the loser of a conflict what was not saved", async () => {
    const page = await html({
      ...PERSON,
      modelValue: { phone: '13900000000', applicant_name: '李四' },
      remoteEdits: { applicant_name: '坐席修改' },
      conflicts: { phone: { mine: '13800138000' } },
      pending: { remarks: { sent: 'x' } },
    })
    expect(text(block(page, 'applicant_name'))).toContain('坐席修改')
    expect(block(page, 'applicant_name')).toContain('sf-field--remote')
    expect(block(page, 'id_number')).not.toContain('remote-edit')
    const phone = block(page, 'phone')
    expect(text(phone)).toContain('您输入的“13800138000”未保存')
    expect(phone).toContain('data-test="keep-mine"')
    expect(text(block(page, 'remarks'))).toContain('保存中')
  })

  it('shows personal data masked and not editable when asked, other fields stay editable', async () => {
    const values = { applicant_name: '张三丰', id_number: '11010519491231002X', phone: '13800138000', remarks: '补办' }
    const page = await html({ ...PERSON, modelValue: values, maskPii: true })
    expect(text(block(page, 'id_number'))).toContain('1101**********002X')
    expect(text(block(page, 'phone'))).toContain('138****8000')
    expect(text(block(page, 'applicant_name'))).toContain('张**')
    expect(page).not.toContain('13800138000')
    expect(page).not.toContain('11010519491231002X')
    expect(block(page, 'phone')).not.toContain('<input')
    expect(block(page, 'remarks')).toContain('<textarea')
  })

  it('read-only mode shows values and option labels, no inputs', async () => {
    const page = await html({ ...BOTH, modelValue: { applicant_type: 'legal_person', org_name: '某公司' }, readonly: true })
    expect(page).not.toMatch(/<(input|textarea|select)\b/)
    expect(text(block(page, 'applicant_type'))).toContain('法人或其他组织')
    expect(text(block(page, 'org_name'))).toContain('某公司')
    expect(text(block(page, 'uscc'))).toContain('（未填写）')
  })

  it('follows the applicant type: fields for the other kind of applicant are hidden', async () => {
    const person = await html({ ...BOTH, modelValue: { applicant_type: 'individual' } })
    expect(block(person, 'uscc')).toBe('')
    expect(block(person, 'id_number')).toContain('required-mark')
    expect(block(person, 'applicant_type')).toMatch(/type="radio"[^>]*value="individual"[^>]*checked/)
    const org = await html({ ...BOTH, modelValue: { applicant_type: 'legal_person' } })
    expect(block(org, 'id_number')).toBe('')
    expect(block(org, 'uscc')).toContain('required-mark')
  })

  it('large touch mode for the kiosk', async () => {
    expect(await html({ ...PERSON, modelValue: {}, large: true })).toContain('sf--large')
    expect(await html({ ...PERSON, modelValue: {} })).not.toContain('sf--large')
  })
})

describe('SchemaForm behaviour', () => {
  function setup(initial: SchemaFormProps) {
    const props = reactive({ ...initial }) as SchemaFormProps
    const emitted: [string, unknown][] = []
    const scope = effectScope()
    const form = scope.run(() => useSchemaForm(props, (event, ...args) => emitted.push([event, args[0]])))!
    return { props, emitted, form }
  }

  it('emits every keystroke for its field and the whole form', () => {
    const { emitted, form } = setup({ ...PERSON, modelValue: { applicant_name: '张三' } })
    const id = fieldSpec(PERSON.schema, PERSON.layout, 'id_number')
    form.onInput(id, { target: { value: '1101051949' } } as unknown as Event)
    expect(emitted).toEqual([
      ['update:modelValue', { applicant_name: '张三', id_number: '1101051949' }],
      ['field-change', { field: 'id_number', value: '1101051949' }],
    ])
    form.onInput(fieldSpec(PERSON.schema, PERSON.layout, 'applicant_name'), { target: { value: '' } } as unknown as Event)
    expect(emitted.at(-1)).toEqual(['field-change', { field: 'applicant_name', value: null }]) // cleared
  })

  it('emits typed values: numbers, booleans, option values', () => {
    const schema: FormSchema = {
      properties: {
        n: { type: 'integer', title: '人数' },
        agree: { type: 'boolean', title: '同意' },
        k: { type: 'integer', title: '类', enum: [1, 2] },
      },
    }
    const { emitted, form } = setup({ schema, modelValue: {} })
    const changes = () => emitted.filter(([e]) => e === 'field-change').map(([, c]) => c as { value: JsonValue })
    form.onInput(fieldSpec(schema, null, 'n'), { target: { value: '3' } } as unknown as Event)
    form.onInput(fieldSpec(schema, null, 'agree'), { target: { checked: true } } as unknown as Event)
    form.onInput(fieldSpec(schema, null, 'k'), { target: { value: '2' } } as unknown as Event)
    expect(changes().map((c) => c.value)).toEqual([3, true, 2])
  })

  it('checks a field in the browser once it is left, and all fields after touchAll', async () => {
    const { props, emitted, form } = setup({ ...PERSON, modelValue: { phone: '1380013' }, liveCheck: true })
    expect(form.shownErrors.value).toEqual({})
    form.onBlur('phone')
    expect(emitted).toEqual([['field-blur', 'phone']])
    expect(Object.keys(form.shownErrors.value)).toEqual(['phone'])
    expect(form.errorText(fieldSpec(PERSON.schema, PERSON.layout, 'phone'))).toBe('不是有效的 11 位手机号码')
    props.modelValue = { phone: '13800138000' }
    await nextTick()
    expect(form.shownErrors.value).toEqual({})
    form.touchAll()
    expect(Object.keys(form.shownErrors.value).sort()).toEqual(['applicant_name', 'id_number'])
  })

  it('required marks follow the values (conditional requirements)', async () => {
    const { props, form } = setup({ ...BOTH, modelValue: { applicant_type: 'individual' } })
    expect(form.required.value.has('id_number')).toBe(true)
    props.modelValue = { applicant_type: 'legal_person' }
    await nextTick()
    expect(form.required.value.has('id_number')).toBe(false)
    expect(form.required.value.has('uscc')).toBe(true)
  })

  it('locked fields and masked personal data are not editable', () => {
    const { form } = setup({ ...PERSON, modelValue: {}, maskPii: true, lockedFields: ['remarks'] })
    const spec = (n: string) => fieldSpec(PERSON.schema, PERSON.layout, n)
    expect([form.editable(spec('phone')), form.editable(spec('remarks')), form.editable(spec('address'))]).toEqual([
      false,
      false,
      false, // address is personal data too
    ])
    const plain = setup({ ...PERSON, modelValue: {}, lockedFields: ['remarks'] }).form
    expect([plain.editable(spec('phone')), plain.editable(spec('remarks'))]).toEqual([true, false])
  })
})
