/**
 * The string formats of application forms, checked in the browser exactly as the server
 * checks them (src/cloudwindow/cases/forms.py), so the kiosk can say "check the last
 * character" while the citizen is still typing.
 */

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const ID_CHECK = '10X98765432'
const PROVINCES = new Set(
  '11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83'.split(' '),
)
const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

/** GB 11643 check character of the first 17 digits of a resident ID number. */
export function residentIdCheckChar(first17: string): string {
  let total = 0
  for (let i = 0; i < 17; i++) total += Number(first17[i]) * ID_WEIGHTS[i]
  return ID_CHECK[total % 11]
}

function realDate(y: number, m: number, d: number): boolean {
  const dt = new Date(Date.UTC(y, m - 1, d))
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d
}

/** 18-character resident ID: province, a real birth date, the GB 11643 check character. */
export function isResidentId(value: string): boolean {
  if (!/^[0-9]{17}[0-9X]$/.test(value) || !PROVINCES.has(value.slice(0, 2))) return false
  const y = Number(value.slice(6, 10))
  if (y < 1850 || !realDate(y, Number(value.slice(10, 12)), Number(value.slice(12, 14)))) return false
  return value[17] === residentIdCheckChar(value.slice(0, 17))
}

/** Mainland mobile number: 11 digits starting 13–19. */
export function isMobile(value: string): boolean {
  return /^1[3-9][0-9]{9}$/.test(value)
}

/** GB 32100 check character of the first 17 characters of a unified social credit code. */
export function usccCheckChar(first17: string): string {
  let total = 0
  for (let i = 0; i < 17; i++) total += USCC_CHARS.indexOf(first17[i]) * USCC_WEIGHTS[i]
  return USCC_CHARS[(31 - (total % 31)) % 31]
}

export function isUscc(value: string): boolean {
  if (!/^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$/.test(value)) return false
  return value[17] === usccCheckChar(value.slice(0, 17))
}

export function isIsoDate(value: string): boolean {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(value)
  return m !== null && realDate(Number(m[1]), Number(m[2]), Number(m[3]))
}

export const FORMAT_CHECKS: Record<string, (v: string) => boolean> = {
  'cn-resident-id': isResidentId,
  'cn-mobile': isMobile,
  'cn-uscc': isUscc,
  date: isIsoDate,
}

/** What the server stores: trimmed; ID numbers, credit codes and mobiles without spaces or dashes, upper case. */
export function normalizeFormatted(format: string | undefined, value: string): string {
  const trimmed = value.trim()
  if (format === 'cn-resident-id' || format === 'cn-uscc' || format === 'cn-mobile') {
    return trimmed.replace(/[\s-]/g, '').toUpperCase()
  }
  return trimmed
}
