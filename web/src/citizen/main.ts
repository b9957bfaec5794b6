import { createApp } from 'vue'
import { i18n } from '@/lib/i18n'
import LookupApp from './LookupApp.vue'

// The citizen's page at home: public (no sign-in), light (no Element Plus), phone-sized first.
document.documentElement.lang = i18n.global.locale.value
createApp(LookupApp).use(i18n).mount('#app')
