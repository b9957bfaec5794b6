import { createI18n } from 'vue-i18n'
import zhCN, { type MessageSchema } from './zh-CN'
import en from './en'

export const SUPPORTED_LOCALES = ['zh-CN', 'en'] as const
export type AppLocale = (typeof SUPPORTED_LOCALES)[number]
export const DEFAULT_LOCALE: AppLocale = 'zh-CN'
const STORAGE_KEY = 'cloudwindow.locale'

/** Map any browser/stored tag onto a supported locale ("en-GB" → "en", "zh" → "zh-CN"). */
export function normaliseLocale(tag: string | null | undefined): AppLocale | null {
  if (!tag) return null
  const lower = tag.toLowerCase()
  if (lower.startsWith('zh')) return 'zh-CN'
  if (lower.startsWith('en')) return 'en'
  return null
}

function initialLocale(): AppLocale {
  try {
    const stored = normaliseLocale(globalThis.localStorage?.getItem(STORAGE_KEY))
    if (stored) return stored
  } catch {
    // storage blocked (private mode): fall through to the default
  }
  // zh-CN is the working language of the district's staff, so it wins over the browser's.
  return DEFAULT_LOCALE
}

export const i18n = createI18n<[MessageSchema], AppLocale, false>({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: DEFAULT_LOCALE,
  messages: { 'zh-CN': zhCN, en },
  missingWarn: false,
  fallbackWarn: false,
})

export function currentLocale(): AppLocale {
  return i18n.global.locale.value
}

export function setLocale(locale: AppLocale): void {
  i18n.global.locale.value = locale
  try {
    localStorage.setItem(STORAGE_KEY, locale)
  } catch {
    // ignore: the choice just won't survive a reload
  }
  document.documentElement.lang = locale
}

/** Translate an enum value of a closed vocabulary, falling back to the raw value. */
export function enumLabel(group: keyof MessageSchema['enums'], value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return ''
  const key = `enums.${group}.${value}`
  return i18n.global.te(key) ? i18n.global.t(key) : value
}
