import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import { i18n } from '@/lib/i18n'
import AgentApp from './AgentApp.vue'
// Same look as the admin console.
import '../console/console.css'

document.documentElement.lang = i18n.global.locale.value
createApp(AgentApp).use(i18n).use(ElementPlus).mount('#app')
