/**
 * One small typed wrapper per API resource. Each call returns the data or throws an
 * ApiError (see api.ts `unwrap`). Pages talk to these, never to fetch directly.
 */
import { api, unwrap } from './api'
import type { paths } from './api-schema'
import type {
  Department,
  DepartmentCreate,
  DepartmentUpdate,
  Page,
  Region,
  RegionCreate,
  RegionUpdate,
  Seat,
  SeatCreate,
  SeatUpdate,
  ServiceItem,
  ServiceItemCreate,
  ServiceItemUpdate,
  Site,
  SiteCreate,
  SiteUpdate,
  SkillGroup,
  SkillGroupCreate,
  SkillGroupUpdate,
  Terminal,
  TerminalCreate,
  TerminalUpdate,
  User,
  UserCreate,
  UserUpdate,
} from './models'
import { filenameFromDisposition } from './format'

type ListQuery<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } }
  ? NonNullable<Q>
  : never

/** What the generic list/dialog code needs from a resource. */
export interface Resource<T, K, C, U> {
  list(query: Record<string, string | number | boolean>): Promise<Page<T>>
  get(key: K): Promise<T>
  create(body: C): Promise<unknown>
  update(key: K, body: U): Promise<unknown>
  activate(key: K): Promise<unknown>
  deactivate(key: K): Promise<unknown>
}

// The list helpers take the loosely built query (lib/query.ts buildListQuery) and hand
// it over as the endpoint's declared query type.
const q = <P extends keyof paths>(query: Record<string, unknown>) => query as ListQuery<P>

export const regionsApi: Resource<Region, string, RegionCreate, RegionUpdate> = {
  list: (query) => unwrap(api.GET('/api/regions', { params: { query: q<'/api/regions'>(query) } })),
  get: (code) => unwrap(api.GET('/api/regions/{code}', { params: { path: { code } } })),
  create: (body) => unwrap(api.POST('/api/regions', { body })),
  update: (code, body) => unwrap(api.PATCH('/api/regions/{code}', { params: { path: { code } }, body })),
  activate: (code) => unwrap(api.POST('/api/regions/{code}/activate', { params: { path: { code } } })),
  deactivate: (code) => unwrap(api.POST('/api/regions/{code}/deactivate', { params: { path: { code } } })),
}

export const departmentsApi: Resource<Department, string, DepartmentCreate, DepartmentUpdate> = {
  list: (query) => unwrap(api.GET('/api/departments', { params: { query: q<'/api/departments'>(query) } })),
  get: (code) => unwrap(api.GET('/api/departments/{code}', { params: { path: { code } } })),
  create: (body) => unwrap(api.POST('/api/departments', { body })),
  update: (code, body) =>
    unwrap(api.PATCH('/api/departments/{code}', { params: { path: { code } }, body })),
  activate: (code) => unwrap(api.POST('/api/departments/{code}/activate', { params: { path: { code } } })),
  deactivate: (code) =>
    unwrap(api.POST('/api/departments/{code}/deactivate', { params: { path: { code } } })),
}

export const skillGroupsApi: Resource<SkillGroup, string, SkillGroupCreate, SkillGroupUpdate> = {
  list: (query) => unwrap(api.GET('/api/skill-groups', { params: { query: q<'/api/skill-groups'>(query) } })),
  get: (code) => unwrap(api.GET('/api/skill-groups/{code}', { params: { path: { code } } })),
  create: (body) => unwrap(api.POST('/api/skill-groups', { body })),
  update: (code, body) =>
    unwrap(api.PATCH('/api/skill-groups/{code}', { params: { path: { code } }, body })),
  activate: (code) => unwrap(api.POST('/api/skill-groups/{code}/activate', { params: { path: { code } } })),
  deactivate: (code) =>
    unwrap(api.POST('/api/skill-groups/{code}/deactivate', { params: { path: { code } } })),
}

export const serviceItemsApi: Resource<ServiceItem, string, ServiceItemCreate, ServiceItemUpdate> = {
  list: (query) => unwrap(api.GET('/api/service-items', { params: { query: q<'/api/service-items'>(query) } })),
  get: (code) => unwrap(api.GET('/api/service-items/{code}', { params: { path: { code } } })),
  create: (body) => unwrap(api.POST('/api/service-items', { body })),
  update: (code, body) =>
    unwrap(api.PATCH('/api/service-items/{code}', { params: { path: { code } }, body })),
  activate: (code) => unwrap(api.POST('/api/service-items/{code}/activate', { params: { path: { code } } })),
  deactivate: (code) =>
    unwrap(api.POST('/api/service-items/{code}/deactivate', { params: { path: { code } } })),
}

/** Upload a catalogue file; throws ApiError (422 with details.report) when rows are bad. */
export function importServiceItems(file: File, dryRun: boolean) {
  return unwrap(
    api.POST('/api/service-items/import', {
      params: { query: { dry_run: dryRun } },
      // The schema types the binary part as a string; the serializer sends the File.
      body: { file: file as unknown as string },
      bodySerializer: () => {
        const form = new FormData()
        form.append('file', file, file.name)
        return form
      },
    }),
  )
}

/** Download the catalogue; returns the file and the server's suggested name. */
export async function exportServiceItems(format: 'xlsx' | 'csv'): Promise<{ blob: Blob; filename: string }> {
  const call = api.GET('/api/service-items/export', { params: { query: { format } }, parseAs: 'blob' })
  const { response } = await call
  const blob = (await unwrap(call)) as unknown as Blob
  const filename = filenameFromDisposition(response.headers.get('Content-Disposition'), `service-items.${format}`)
  return { blob, filename }
}

export const sitesApi: Resource<Site, number, SiteCreate, SiteUpdate> = {
  list: (query) => unwrap(api.GET('/api/sites', { params: { query: q<'/api/sites'>(query) } })),
  get: (id) => unwrap(api.GET('/api/sites/{site_id}', { params: { path: { site_id: id } } })),
  create: (body) => unwrap(api.POST('/api/sites', { body })),
  update: (id, body) => unwrap(api.PATCH('/api/sites/{site_id}', { params: { path: { site_id: id } }, body })),
  activate: (id) => unwrap(api.POST('/api/sites/{site_id}/activate', { params: { path: { site_id: id } } })),
  deactivate: (id) => unwrap(api.POST('/api/sites/{site_id}/deactivate', { params: { path: { site_id: id } } })),
}

export const terminalsApi: Resource<Terminal, number, TerminalCreate, TerminalUpdate> = {
  list: (query) => unwrap(api.GET('/api/terminals', { params: { query: q<'/api/terminals'>(query) } })),
  get: (id) => unwrap(api.GET('/api/terminals/{terminal_id}', { params: { path: { terminal_id: id } } })),
  create: (body) => unwrap(api.POST('/api/terminals', { body })),
  update: (id, body) => unwrap(api.PATCH('/api/terminals/{terminal_id}', { params: { path: { terminal_id: id } }, body })),
  activate: (id) => unwrap(api.POST('/api/terminals/{terminal_id}/activate', { params: { path: { terminal_id: id } } })),
  deactivate: (id) => unwrap(api.POST('/api/terminals/{terminal_id}/deactivate', { params: { path: { terminal_id: id } } })),
}

export function createEnrollmentCode(id: number) {
  return unwrap(api.POST('/api/terminals/{terminal_id}/enrollment-code', { params: { path: { terminal_id: id } } }))
}

export const seatsApi: Resource<Seat, number, SeatCreate, SeatUpdate> = {
  list: (query) => unwrap(api.GET('/api/seats', { params: { query: q<'/api/seats'>(query) } })),
  get: (id) => unwrap(api.GET('/api/seats/{seat_id}', { params: { path: { seat_id: id } } })),
  create: (body) => unwrap(api.POST('/api/seats', { body })),
  update: (id, body) => unwrap(api.PATCH('/api/seats/{seat_id}', { params: { path: { seat_id: id } }, body })),
  activate: (id) => unwrap(api.POST('/api/seats/{seat_id}/activate', { params: { path: { seat_id: id } } })),
  deactivate: (id) => unwrap(api.POST('/api/seats/{seat_id}/deactivate', { params: { path: { seat_id: id } } })),
}

export const usersApi: Resource<User, number, UserCreate, UserUpdate> = {
  list: (query) => unwrap(api.GET('/api/users', { params: { query: q<'/api/users'>(query) } })),
  get: (id) => unwrap(api.GET('/api/users/{user_id}', { params: { path: { user_id: id } } })),
  create: (body) => unwrap(api.POST('/api/users', { body })),
  update: (id, body) => unwrap(api.PATCH('/api/users/{user_id}', { params: { path: { user_id: id } }, body })),
  activate: (id) => unwrap(api.POST('/api/users/{user_id}/activate', { params: { path: { user_id: id } } })),
  deactivate: (id) => unwrap(api.POST('/api/users/{user_id}/deactivate', { params: { path: { user_id: id } } })),
}

export function setUserPassword(id: number, password: string) {
  return unwrap(api.POST('/api/users/{user_id}/password', { params: { path: { user_id: id } }, body: { password } }))
}
