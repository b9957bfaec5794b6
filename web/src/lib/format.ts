/** Display formatting that follows the UI locale. */

export function formatDateTime(iso: string | null | undefined, locale: string): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
    timeZone: 'Asia/Shanghai',
  }).format(d)
}

/** A decimal string fee ("0", "12.5") as money with two decimals, or null when not a number. */
export function formatFee(fee: string | number | null | undefined): string | null {
  if (fee === null || fee === undefined || fee === '') return null
  const n = typeof fee === 'number' ? fee : Number(fee)
  if (!Number.isFinite(n)) return null
  return n.toFixed(2)
}

/** Whether a fee string is a non-negative amount with at most two decimals. */
export function isValidFee(fee: string): boolean {
  return /^\d{1,8}(\.\d{1,2})?$/.test(fee.trim())
}

/** The filename in a Content-Disposition header (RFC 6266 filename* wins over filename). */
export function filenameFromDisposition(header: string | null | undefined, fallback: string): string {
  if (!header) return fallback
  const star = /filename\*\s*=\s*([^']*)''([^;]+)/i.exec(header)
  if (star) {
    try {
      return decodeURIComponent(star[2].trim().replace(/^"|"$/g, ''))
    } catch {
      // malformed percent-encoding: try the plain parameter
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(header)
  if (plain) return (plain[2] ?? plain[1]).trim()
  return fallback
}
