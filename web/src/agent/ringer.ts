/**
 * The ring tone of an incoming offer, synthesised with the Web Audio API (no audio file):
 * a two-tone chirp repeated every 1.5 s. Browsers only let a page play sound after a
 * user gesture, so `unlockAudio()` runs on the agent's first click (sign-in, 就绪).
 */
let ctx: AudioContext | null = null
let timer: ReturnType<typeof setInterval> | undefined

export function unlockAudio(): void {
  try {
    const Ctor = window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext
    if (!Ctor) return
    ctx ??= new Ctor()
    if (ctx.state === 'suspended') void ctx.resume()
  } catch {
    ctx = null
  }
}

function tone(at: number, frequency: number, duration: number): void {
  if (!ctx) return
  const osc = ctx.createOscillator()
  const gain = ctx.createGain()
  osc.type = 'sine'
  osc.frequency.value = frequency
  gain.gain.setValueAtTime(0.0001, at)
  gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02)
  gain.gain.exponentialRampToValueAtTime(0.0001, at + duration)
  osc.connect(gain).connect(ctx.destination)
  osc.start(at)
  osc.stop(at + duration + 0.02)
}

export function beep(): void {
  if (!ctx || ctx.state !== 'running') return
  const t = ctx.currentTime
  tone(t, 880, 0.18)
  tone(t + 0.22, 660, 0.18)
  tone(t + 0.44, 880, 0.18)
}

export function startRinging(): void {
  stopRinging()
  unlockAudio()
  beep()
  timer = setInterval(beep, 1500)
}

export function stopRinging(): void {
  if (timer !== undefined) clearInterval(timer)
  timer = undefined
}
