// @types/node 20 does not declare the WebAssembly global; this is the subset gavel uses.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
  }
  interface Instance {
    readonly exports: Record<string, unknown>;
  }
  function compile(bytes: ArrayBufferView | ArrayBuffer): Promise<Module>;
  interface WebAssemblyInstantiatedSource {
    instance: Instance;
    module: Module;
  }
}
type BufferSource = ArrayBufferView | ArrayBuffer;
