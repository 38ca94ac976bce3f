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

// Device modules' "net" is Moddable's Net, which @types/node's own "net"
// module hides from them in this project: its default export, as the Node
// host provides it (vitest and the Node-hosted device map "net" to net.ts).
declare module "net" {
	const Net: typeof import("./net.ts").default;
	export default Net;
}
