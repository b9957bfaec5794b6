/**
 * On-screen masking of personal data (PIPL: minimum display). The formats follow the
 * district's convention, e.g. an ID number shows as 4401**********1234.
 */

/** Keep `head` leading and `tail` trailing characters; star the rest (at least one star). */
export function maskMiddle(value: string, head: number, tail: number, star = '*'): string {
  const chars = Array.from(value)
  if (chars.length === 0) return ''
  if (chars.length <= head + tail) {
    // Too short to show both ends: keep the first char at most, star everything else.
    return chars.length <= 1 ? star : chars[0] + star.repeat(chars.length - 1)
  }
  return chars.slice(0, head).join('') + star.repeat(chars.length - head - tail) + chars.slice(chars.length - tail).join('')
}

/** Resident ID number (18 or 15 chars): first 4 and last 4 visible. */
export function maskIdNumber(id: string): string {
  return maskMiddle(id.trim(), 4, 4)
}

/** Mobile number: 138****5678; a +86 prefix and separators are dropped first. */
export function maskPhone(phone: string): string {
  let digits = phone.replace(/[\s-]/g, '')
  if (digits.startsWith('+86')) digits = digits.slice(3)
  return maskMiddle(digits, 3, 4)
}

/** A person's name: 张*, 欧阳** , keep the surname's first character. */
export function maskName(name: string): string {
  const chars = Array.from(name.trim())
  if (chars.length === 0) return ''
  return chars[0] + '*'.repeat(Math.max(1, chars.length - 1))
}
