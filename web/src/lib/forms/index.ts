/** The shared application-form renderer and its model (console preview, agent case panel, kiosk review). */
export { default as SchemaForm } from './SchemaForm.vue'
export * from './model'
export * from './formats'
