/**
 * The forms API (src/cloudwindow/cases/forms_api.py): an item's current form, its
 * versions, publishing a new version, previewing a draft against sample data.
 */
import { rest } from '../bookings'
import { currentToken } from '../session'
import type { FieldMessage, FormLayout, FormSchema, FormValues, PiiKind } from './model'

export interface FormView {
  service_item_code: string
  id: number | null
  /** 0 with `generated`: the default made from the catalogue, not stored yet. */
  version: number
  generated: boolean
  schema: FormSchema
  layout: FormLayout
  note: string
  created_by: number | null
  created_by_name: string
  created_at: string | null
  pii_fields: Record<string, PiiKind>
}

export interface FormVersionRow {
  id: number
  version: number
  note: string
  created_by: number | null
  created_by_name: string
  created_at: string
  field_count: number
}

export interface FormChange {
  field: string
  change: string
}

export interface SchemaProblem {
  path: string
  error_id: string
  message: Record<string, string>
}

export interface PreviewResult {
  problems: SchemaProblem[]
  errors: (FieldMessage & { error_id: string })[]
  normalized: FormValues
  pii_fields: Record<string, PiiKind>
}

const item = (code: string): string => `/api/service-items/${encodeURIComponent(code)}/form`

export const formsApi = {
  current: (code: string) => rest<FormView>(currentToken(), 'GET', item(code)),
  generated: (code: string) => rest<FormView>(currentToken(), 'GET', `${item(code)}/default`),
  versions: (code: string) =>
    rest<{ service_item_code: string; items: FormVersionRow[] }>(currentToken(), 'GET', `${item(code)}/versions`),
  version: (code: string, version: number) => rest<FormView>(currentToken(), 'GET', `${item(code)}/versions/${version}`),
  publish: (code: string, body: { schema: FormSchema; layout: FormLayout; note: string; base_version: number }) =>
    rest<{ form: FormView; changes: FormChange[] }>(currentToken(), 'POST', `${item(code)}/versions`, body),
  preview: (body: { schema: FormSchema; layout: FormLayout | null; data: FormValues }) =>
    rest<PreviewResult>(currentToken(), 'POST', '/api/forms/preview', body),
}
