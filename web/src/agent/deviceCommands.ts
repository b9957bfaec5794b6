/**
 * The agent's device commands (docs/protocol.md §Devices): send one, follow its
 * `device.command_result`. Used by DevicePanel (ID card, signature) and DevicePrint
 * (sealed documents); each keeps the commands it sent.
 */
import { onBeforeUnmount, ref } from 'vue'
import { commandResult, requestCommand, type CommandView, type RelayDevice } from '@/lib/devices'
import { showError } from '@/lib/notify'
import type { LooseProtocol, RealtimeClient } from '@/lib/realtime'
import { rt } from './desk'

export function useDeviceCommands(onDone?: (cmd: CommandView) => void) {
  const commands = ref<CommandView[]>([])
  const sending = ref('')

  function put(cmd: CommandView): void {
    const i = commands.value.findIndex((c) => c.command_id === cmd.command_id)
    // A finished command never goes back to pending (a slow response racing its result).
    if (i >= 0 && cmd.state === 'pending' && commands.value[i].state !== 'pending') return
    if (i >= 0) commands.value.splice(i, 1, cmd)
    else commands.value.unshift(cmd)
  }

  // Results that came before the response to our own request (a fast kiosk, a slow
  // server): kept briefly so the command does not stay "waiting" for ever.
  const early = new Map<string, CommandView>()

  async function finish(event: CommandView): Promise<void> {
    let cmd = event
    if (cmd.ok && cmd.device === 'signature_pad') {
      try {
        cmd = await commandResult(cmd.command_id) // the image is not in the event
      } catch {
        /* keep the event's view */
      }
    }
    put(cmd)
    onDone?.(cmd)
  }

  const loose = rt as unknown as RealtimeClient<LooseProtocol>
  const off = loose.on('device.command_result', async (d) => {
    const cmd = d as CommandView
    if (commands.value.some((c) => c.command_id === cmd.command_id)) return finish(cmd)
    if (sending.value) {
      early.set(cmd.command_id, cmd)
      if (early.size > 20) early.delete(early.keys().next().value as string)
    }
  })
  onBeforeUnmount(off)

  async function send(device: RelayDevice, command: string, params: Record<string, unknown> = {}, tag = ''): Promise<void> {
    sending.value = tag || `${device}.${command}`
    try {
      const view = await requestCommand(device, command, params)
      const done = early.get(view.command_id)
      early.delete(view.command_id)
      put(view)
      if (done) await finish(done)
    } catch (err) {
      showError(err)
    } finally {
      sending.value = ''
    }
  }

  function pending(device: RelayDevice): boolean {
    return commands.value.some((c) => c.device === device && c.state === 'pending')
  }

  return { commands, sending, send, pending, put, settle: finish }
}
