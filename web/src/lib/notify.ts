import { ElMessage } from 'element-plus'
import { errorSummary, fieldErrors } from './errors'
import { currentLocale, i18n } from './i18n'

/** The message to show for any failure, in the current UI language. */
export function errorText(err: unknown): string {
  const t = i18n.global.t
  return errorSummary(err, currentLocale(), {
    network: t('errors.network'),
    unknown: (status) => t('errors.unknown', { status }),
  })
}

/** Toast an error; returns the per-field messages for the form that caused it. */
export function showError(err: unknown): Record<string, string> {
  ElMessage({ type: 'error', message: errorText(err), showClose: true, duration: 6000, grouping: true })
  if (!(err instanceof Error)) console.error(err)
  return fieldErrors(err, currentLocale())
}

export function showSuccess(message: string): void {
  ElMessage({ type: 'success', message, grouping: true })
}
