import { computed, onBeforeUnmount, ref } from 'vue'
import { useI18n } from 'vue-i18n'

/** Wall clock for the kiosk header and attract screen (Asia/Shanghai, ticks each second). */
export function useClock() {
  const { locale } = useI18n()
  const now = ref(Date.now())
  const timer = setInterval(() => (now.value = Date.now()), 1000)
  onBeforeUnmount(() => clearInterval(timer))

  const timeText = computed(() =>
    new Intl.DateTimeFormat('zh-CN', {
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
      timeZone: 'Asia/Shanghai',
    }).format(now.value),
  )
  const dateText = computed(() =>
    new Intl.DateTimeFormat(locale.value, {
      year: 'numeric',
      month: 'long',
      day: 'numeric',
      weekday: 'long',
      timeZone: 'Asia/Shanghai',
    }).format(now.value),
  )
  return { now, timeText, dateText }
}
