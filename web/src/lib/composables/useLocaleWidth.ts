import { computed } from 'vue'
import { useI18n } from 'vue-i18n'

/** A column width that fits its labels in the current language (English runs longer). */
export function useLocaleWidth(zh: number, en: number) {
  const { locale } = useI18n()
  return computed(() => (locale.value === 'en' ? en : zh))
}
