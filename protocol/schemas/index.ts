/** Every HTTP and WebSocket schema, for `import … from 'protocol/schemas/index.ts'`. */
export * from './common.ts'
export * from './devices.ts'
export * from './files.ts'
export * from './history.ts'
export * from './json.ts'
export * from './sync.ts'
export * from './ws.ts'
