import { ElMessageBox } from 'element-plus'
import { useI18n } from 'vue-i18n'
import { showError, showSuccess } from '../notify'

/** Confirm, then activate or deactivate a row, then reload the table. */
export function useActiveToggle<K>(
  activate: (key: K) => Promise<unknown>,
  deactivate: (key: K) => Promise<unknown>,
  reload: () => void,
) {
  const { t } = useI18n()
  return async function toggle(key: K, name: string, currentlyActive: boolean): Promise<void> {
    try {
      await ElMessageBox.confirm(
        currentlyActive ? t('common.confirmDeactivate', { name }) : t('common.confirmActivate', { name }),
        t('common.confirmTitle'),
        {
          type: currentlyActive ? 'warning' : 'info',
          confirmButtonText: currentlyActive ? t('common.deactivate') : t('common.activate'),
          cancelButtonText: t('common.cancel'),
        },
      )
    } catch {
      return // cancelled
    }
    try {
      if (currentlyActive) await deactivate(key)
      else await activate(key)
      showSuccess(currentlyActive ? t('common.deactivated', { name }) : t('common.activated', { name }))
      reload()
    } catch (err) {
      showError(err)
    }
  }
}
