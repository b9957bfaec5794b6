import { createApp, h } from 'vue'
import ComingSoon from '@/lib/components/ComingSoon.vue'

// Placeholder until the agent front end is built.
createApp({ render: () => h(ComingSoon, { title: '云窗口 · 坐席工作台' }) }).mount('#app')
