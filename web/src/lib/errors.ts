/**
 * The server's stable error body and how to show it.
 *
 * Every API failure has the shape
 *   {"error_id": "...", "message": {"zh-CN": "...", "en": "..."}, "details": {...}}
 * (validation failures: error_id "validation-failed", details.errors = [{loc, msg, type}]).
 * These helpers are pure so they can be unit-tested without a browser.
 */

export type LocalizedText = Record<string, string>

export interface ErrorBody {
  error_id: string
  message: LocalizedText
  details?: Record<string, unknown>
}

export interface ValidationIssue {
  loc: (string | number)[]
  msg: string
  type?: string
}

export class ApiError extends Error {
  readonly status: number
  readonly errorId: string
  readonly messages: LocalizedText
  readonly details: Record<string, unknown>
  readonly retryAfter: number | null

  constructor(status: number, body: ErrorBody, retryAfter: number | null = null) {
    super(body.message?.en ?? body.message?.['zh-CN'] ?? body.error_id)
    this.name = 'ApiError'
    this.status = status
    this.errorId = body.error_id
    this.messages = body.message ?? {}
    this.details = body.details ?? {}
    this.retryAfter = retryAfter
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Whether a parsed response body is the server's stable error shape. */
export function isErrorBody(v: unknown): v is ErrorBody {
  return isRecord(v) && typeof v.error_id === 'string' && isRecord(v.message)
}

/**
 * Turn whatever a failed response carried into an ApiError. Bodies that are not the
 * stable shape (a proxy's HTML page, FastAPI's bare {"detail": ...}) still produce a
 * usable error, with error_id "http-<status>".
 */
export function toApiError(status: number, body: unknown, retryAfterHeader?: string | null): ApiError {
  const retryAfter = parseRetryAfter(retryAfterHeader)
  if (isErrorBody(body)) return new ApiError(status, body, retryAfter)
  let text = ''
  if (typeof body === 'string') text = body.slice(0, 200)
  else if (isRecord(body) && typeof body.detail === 'string') text = body.detail
  const message: LocalizedText = text ? { 'zh-CN': text, en: text } : {}
  return new ApiError(status, { error_id: `http-${status}`, message, details: {} }, retryAfter)
}

/** Seconds from a Retry-After header (delta-seconds form only; dates are ignored). */
export function parseRetryAfter(value: string | null | undefined): number | null {
  if (!value) return null
  const n = Number(value.trim())
  return Number.isFinite(n) && n >= 0 ? Math.ceil(n) : null
}

/**
 * The message for `locale`: exact tag, then same language ("en" for "en-GB"), then
 * zh-CN, then English, then any; `fallback` when the body carried none.
 */
export function pickMessage(messages: LocalizedText | undefined, locale: string, fallback = ''): string {
  if (!messages) return fallback
  if (messages[locale]) return messages[locale]
  const lang = locale.split('-')[0].toLowerCase()
  for (const [tag, text] of Object.entries(messages)) {
    if (text && tag.split('-')[0].toLowerCase() === lang) return text
  }
  for (const tag of ['zh-CN', 'en']) if (messages[tag]) return messages[tag]
  const any = Object.values(messages).find(Boolean)
  return any ?? fallback
}

/** The field-level problems of a validation-failed error (empty for any other error). */
export function validationIssues(err: unknown): ValidationIssue[] {
  if (!(err instanceof ApiError)) return []
  const errors = err.details.errors
  if (!Array.isArray(errors)) return []
  return errors
    .filter(isRecord)
    .map((e) => ({
      loc: Array.isArray(e.loc) ? (e.loc as (string | number)[]) : [],
      msg: typeof e.msg === 'string' ? e.msg : '',
      type: typeof e.type === 'string' ? e.type : undefined,
    }))
}

/** Where a validation issue points, without the request part: ["body","materials",0,"name"] → "materials.0.name". */
export function issuePath(loc: (string | number)[]): string {
  const parts = [...loc]
  if (parts.length > 1 && ['body', 'query', 'path', 'header'].includes(String(parts[0]))) parts.shift()
  return parts.map(String).join('.')
}

/**
 * First message per top-level form field, for `<el-form-item :error>`. A domain error
 * naming one field (details.field, e.g. invalid-reference) maps onto that field too.
 */
export function fieldErrors(err: unknown, locale: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const issue of validationIssues(err)) {
    const path = issuePath(issue.loc)
    const field = path.split('.')[0]
    if (field && !(field in out)) out[field] = issue.msg
  }
  if (err instanceof ApiError && typeof err.details.field === 'string' && !(err.details.field in out)) {
    out[err.details.field] = pickMessage(err.messages, locale)
  }
  return out
}

/** One line for a toast: the localized message plus, for validation errors, the fields. */
export function errorSummary(
  err: unknown,
  locale: string,
  fallbacks: { network: string; unknown: (status: number) => string },
): string {
  if (err instanceof ApiError) {
    const base = pickMessage(err.messages, locale, fallbacks.unknown(err.status))
    const issues = validationIssues(err)
    if (issues.length === 0) return base
    const listed = issues
      .slice(0, 5)
      .map((i) => `${issuePath(i.loc)}: ${i.msg}`)
      .join('; ')
    return `${base} (${listed}${issues.length > 5 ? '; …' : ''})`
  }
  if (err instanceof TypeError) return fallbacks.network
  if (err instanceof Error) return err.message
  return String(err)
}
