import { createApp, h } from 'vue'
import ComingSoon from '@/lib/components/ComingSoon.vue'

// Placeholder until the kiosk front end is built.
createApp({ render: () => h(ComingSoon, { title: '云窗口 · 智能柜台' }) }).mount('#app')
