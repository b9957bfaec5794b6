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
    if (i >= 0) commands.value.splice(i, 1, cmd)
    else commands.value.unshift(cmd)
  }

  const loose = rt as unknown as RealtimeClient<LooseProtocol>
  const off = loose.on('device.command_result', async (d) => {
    let cmd = d as CommandView
    if (!commands.value.some((c) => c.command_id === cmd.command_id)) return
    if (cmd.ok && cmd.device === 'signature_pad') {
      try {
        cmd = await commandResult(cmd.command_id) // the image is not in the event
      } catch {
        /* keep the event's view */
      }
    }
    put(cmd)
    onDone?.(cmd)
  })
  onBeforeUnmount(off)

  async function send(device: RelayDevice, command: string, params: Record<string, unknown> = {}, tag = ''): Promise<void> {
    sending.value = tag || `${device}.${command}`
    try {
      put(await requestCommand(device, command, params))
    } catch (err) {
      showError(err)
    } finally {
      sending.value = ''
    }
  }

  function pending(device: RelayDevice): boolean {
    return commands.value.some((c) => c.device === device && c.state === 'pending')
  }

  return { commands, sending, send, pending, put }
}
