// Types of the XS globals that xs-globals.ts installs, for host-side code
// that type-checks device modules (tsconfig.json).
declare function trace(...values: unknown[]): void;

interface ArrayBufferConstructor {
	fromString(text: string): ArrayBuffer;
}

interface StringConstructor {
	fromArrayBuffer(buffer: ArrayBufferLike): string;
}

interface ArrayBuffer {
	concat(...buffers: ArrayBufferLike[]): ArrayBuffer;
}
