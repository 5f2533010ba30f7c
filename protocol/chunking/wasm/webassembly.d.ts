// The WebAssembly JS API as this project uses it. TypeScript ships these types only in its
// DOM library, which would also declare browser globals Node does not have.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array)
  }
  /** Compiles off the calling thread (the embedded store compiles PGlite once this way). */
  function compile(bytes: Uint8Array): Promise<Module>
  class Instance {
    constructor(module: Module, imports?: Record<string, unknown>)
    readonly exports: Record<string, unknown>
  }
  class Memory {
    /** Sizes in 64 KiB pages. */
    constructor(descriptor: { initial: number; maximum?: number })
    readonly buffer: ArrayBuffer
  }
}
