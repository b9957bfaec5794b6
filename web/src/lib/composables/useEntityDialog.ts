import { nextTick, ref, useTemplateRef, type Ref } from 'vue'
import type { FormInstance } from 'element-plus'
import { useI18n } from 'vue-i18n'
import { showError, showSuccess } from '../notify'

/**
 * A create/edit dialog around a form model: open blank or from a row, validate, send,
 * show the server's per-field errors next to the fields, and call `onSaved`.
 */
export function useEntityDialog<T, M extends object>(options: {
  blank: () => M
  fromRow: (row: T) => M
  save: (model: M, editing: T | null) => Promise<unknown>
  onSaved: () => void
  /** the template ref name of the dialog's <el-form> */
  formRef?: string
}) {
  const { t } = useI18n()
  const visible = ref(false)
  const saving = ref(false)
  const editing = ref(null) as Ref<T | null>
  const model = ref(options.blank()) as Ref<M>
  const serverErrors = ref<Record<string, string>>({})
  const formRef = useTemplateRef<FormInstance>(options.formRef ?? 'entityForm')

  async function open(row: T | null): Promise<void> {
    editing.value = row
    model.value = row ? options.fromRow(row) : options.blank()
    serverErrors.value = {}
    visible.value = true
    await nextTick()
    formRef.value?.clearValidate()
  }

  async function submit(): Promise<void> {
    serverErrors.value = {}
    const valid = await formRef.value?.validate().catch(() => false)
    if (valid === false) return
    saving.value = true
    try {
      await options.save(model.value, editing.value)
      showSuccess(editing.value ? t('common.saved') : t('common.created'))
      visible.value = false
      options.onSaved()
    } catch (err) {
      serverErrors.value = showError(err)
    } finally {
      saving.value = false
    }
  }

  return { visible, saving, editing, model, serverErrors, formRef, open, submit }
}
