/**
 * Named entity types, aliased from the generated schema. When the backend renames a
 * schema, only this file changes; pages import from here.
 */
import type { components } from './api-schema'

type S = components['schemas']

export type User = S['UserOut']
export type Skill = User['skills'][number]
export type UserCreate = S['UserCreate']
export type UserUpdate = S['UserUpdate']
export type Me = S['MeResponse']
export type LoginResponse = S['LoginResponse']

export type Region = S['RegionOut']
export type RegionCreate = S['RegionCreate']
export type RegionUpdate = S['RegionUpdate']

export type Department = S['DepartmentOut']
export type DepartmentCreate = S['DepartmentCreate']
export type DepartmentUpdate = S['DepartmentUpdate']

export type SkillGroup = S['SkillGroupOut']
export type SkillGroupCreate = S['SkillGroupCreate']
export type SkillGroupUpdate = S['SkillGroupUpdate']

export type ServiceItem = S['ServiceItemOut']
export type ServiceItemCreate = S['ServiceItemCreate']
export type ServiceItemUpdate = S['ServiceItemUpdate']
/** A required material as sent in create/update bodies. */
export type Material = S['Material']
/** One row of the materials editor: every field present. */
export interface MaterialRow {
  name: string
  form: string
  copies: number
  required: boolean
  note: string
}
export type ImportReport = S['ImportReport']
export type ImportRowError = NonNullable<ImportReport['errors']>[number]

export type Site = S['SiteOut']
export type SiteCreate = S['SiteCreate']
export type SiteUpdate = S['SiteUpdate']

export type Terminal = S['TerminalOut']
export type TerminalCreate = S['TerminalCreate']
export type TerminalUpdate = S['TerminalUpdate']
export type EnrollmentCode = S['EnrollmentCodeOut']

export type Seat = S['SeatOut']
export type SeatCreate = S['SeatCreate']
export type SeatUpdate = S['SeatUpdate']

export type ServiceCategory = S['CategoryOut']
export type DeviceMe = S['DeviceMe']
export type EnrollResponse = S['EnrollResponse']

export type QueueOverview = S['QueueOverview']
export type GroupBoard = S['GroupBoard']
export type AgentBoard = S['AgentBoard']
export type TicketBoard = S['TicketBoard']

export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
}
