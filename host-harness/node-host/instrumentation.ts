/*
 * `instrumentation` for the Node-hosted device: Instrumentation.get(index)
 * and Instrumentation.map(name), after $MODDABLE/modules/base/instrumentation.
 *
 * Deviation: XS heap figures have no Node equivalent; "XS Chunk Heap Used"
 * reports V8's heapUsed and "XS Slot Heap Used" reports 0. Use the simulator
 * or a board for XS memory figures.
 */

const names = [
	"Pixels Drawn",
	"Frames Drawn",
	"Network Bytes Read",
	"Network Bytes Written",
	"Network Sockets",
	"Timers",
	"Files",
	"Poco Display List Used",
	"Piu Command List Used",
	"Turns",
	"CPU 0",
	"CPU 1",
	"System Free Memory",
	"XS Slot Heap Used",
	"XS Chunk Heap Used",
	"XS Keys Used",
	"XS Garbage Collection Count",
	"XS Modules Loaded",
	"XS Stack Used",
	"XS Promises Settled",
];

export default class Instrumentation {
	static map(name: string): number | undefined {
		const index = names.indexOf(name);
		return index < 0 ? undefined : index + 1;
	}

	static get(index: number): number | undefined {
		switch (names[index - 1]) {
			case "XS Chunk Heap Used":
				return process.memoryUsage().heapUsed;
			case "System Free Memory":
				return process.constrainedMemory?.() ?? 0;
			case undefined:
				return undefined;
			default:
				return 0;
		}
	}
}
