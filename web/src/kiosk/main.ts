import { createApp } from 'vue'
import { i18n } from '@/lib/i18n'
import KioskApp from './KioskApp.vue'
import { startDevices } from './devices'
import './kiosk.css'

// The kiosk is touch-first and self-styled: no Element Plus here, so it stays light.
document.documentElement.lang = i18n.global.locale.value
createApp(KioskApp).use(i18n).mount('#app')
startDevices() // the local peripheral bridge (docs/bridge.md)
