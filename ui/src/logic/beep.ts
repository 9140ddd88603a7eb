// Short attention beep via WebAudio. Never throws (there may be no audio device).
let ctx: AudioContext | null = null

export function beep(freq = 880, ms = 350): boolean {
  try {
    const AC: typeof AudioContext | undefined =
      (globalThis as unknown as { AudioContext?: typeof AudioContext }).AudioContext ??
      (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext
    if (!AC) return false
    ctx = ctx ?? new AC()
    const osc = ctx.createOscillator()
    const gain = ctx.createGain()
    osc.type = 'sine'
    osc.frequency.value = freq
    gain.gain.value = 0.2
    osc.connect(gain)
    gain.connect(ctx.destination)
    const t = ctx.currentTime
    osc.start(t)
    osc.stop(t + ms / 1000)
    return true
  } catch {
    return false
  }
}
