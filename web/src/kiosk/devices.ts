/**
 * The kiosk's peripherals: connects the page to its local bridge (lib/bridge.ts) and reports
 * the bridge's device health to the server on every change (docs/protocol.md §Devices),
 * so supervisors see a printer out of paper. The device commands an agent sends during a
 * session are run by components/DevicePrompt.vue.
 */
import { watch } from 'vue'
import { bridge, type DeviceHealth } from '@/lib/bridge'
import { reportHealth, type HealthReport } from '@/lib/devices'
import { kiosk } from './store'

const REPEAT_MS = 60_000 // also re-sent now and then: the server keeps "last seen"

export function healthReport(connected: boolean, devices: DeviceHealth[]): HealthReport {
  const info = bridge.state.info
  return {
    bridge: connected
      ? { connected: true, protocol: bridge.state.protocol.slice(0, 40), version: (info?.version ?? '').slice(0, 40), model: (info?.model ?? '').slice(0, 80) }
      : { connected: false },
    devices: connected ? devices.map((d) => ({ device: d.device, present: d.present, status: d.status, detail: (d.detail ?? '').slice(0, 200) })) : [],
  }
}

let timer: ReturnType<typeof setTimeout> | null = null

function send(): void {
  if (timer) clearTimeout(timer)
  timer = setTimeout(() => {
    timer = null
    const credential = kiosk.credential
    if (!credential) return
    reportHealth(healthReport(bridge.connected, bridge.state.devices), credential).catch((err) =>
      console.warn('device health report failed', err),
    )
  }, 300)
}

let started = false

/** Start the bridge connection and health reports (once, from main.ts). */
export function startDevices(): void {
  if (started) return
  started = true
  bridge.start()
  bridge.onHealth(send)
  watch(() => kiosk.credential, send)
  setInterval(send, REPEAT_MS)
}
