import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import { i18n } from '@/lib/i18n'
import App from './App.vue'
import { router } from './router'
import './console.css'

document.documentElement.lang = i18n.global.locale.value
createApp(App).use(i18n).use(ElementPlus).use(router).mount('#app')
