// host-harness logs as a monitor: which lines --level, --tag and --grep keep, colours by level, the compact heap line.
import { describe, expect, it } from "vitest";
import { colourByLevel, type LogsArgs, levelAndTag, logFilter, parseLogsArgs } from "../../host-harness/logs/command.js";
import { compactSample } from "../../host-harness/xsbug/log-server.js";

const lines = [
	"12:01:02.345 [main] E (2034) tcp-server: bind socket failed",
	"12:01:02.346 [main] W (2035) ws-server: client 2 dropped: no pong",
	"12:01:02.347 [main] I (2036) app: services up {}",
	"12:01:02.348 [main] D (2037) tcp-server: 12 bytes echoed",
	"12:01:02.349 [main] # Exception: main.js (12): boom",
];

describe("logs filters", () => {
	it("reads the level and tag of a formatted line", () => {
		expect(levelAndTag(lines[1])).toEqual({ level: "W", tag: "ws-server" });
		expect(levelAndTag(lines[4])).toEqual({});
	});

	it("--level keeps that level and the more severe ones, and exceptions", () => {
		expect(lines.filter(logFilter({ level: "W" }))).toEqual([lines[0], lines[1], lines[4]]);
		expect(lines.filter(logFilter({ level: "D" }))).toEqual(lines);
	});

	it("--tag keeps those modules; --grep any pattern", () => {
		expect(lines.filter(logFilter({ tags: ["tcp-server"] }))).toEqual([lines[0], lines[3]]);
		expect(lines.filter(logFilter({ grep: /echoed|boom/ }))).toEqual([lines[3], lines[4]]);
		expect(lines.filter(logFilter({ level: "I", tags: ["tcp-server", "app"] }))).toEqual([lines[0], lines[2]]);
	});

	it("reads a device's own line, and one after a device's name (logs --device), the same way", () => {
		expect(levelAndTag("W (2035) ws-server: client 2 dropped: no pong")).toEqual({ level: "W", tag: "ws-server" });
		expect(levelAndTag("192.168.1.20    12:01:02.346 E (2034) tcp-server: bind socket failed")).toEqual({ level: "E", tag: "tcp-server" });
		expect(colourByLevel("jig-01.local  12:01:02.346 E (2034) tcp-server: bind socket failed")).toMatch(/^\x1b\[31m/);
	});

	it("colours errors and exceptions red, warnings yellow, debug dim, info plain", () => {
		expect(lines.map(colourByLevel).map(l => /^\x1b\[(\d+)m/.exec(l)?.[1] ?? "plain")).toEqual(["31", "33", "plain", "2", "31"]);
	});

	it("--samples shows the heap in one compact line", () => {
		expect(compactSample("Chunk used: 12 / 64 K, Slot used: 30 / 64 K, Stack used: 1 / 4 K, Garbage collections: 12, Timers: 3, Sockets: 2")).toBe(
			"Chunk used: 12 / 64 K, Slot used: 30 / 64 K, Stack used: 1 / 4 K, Garbage collections: 12",
		);
	});

	it("parses the flags, naming a wrong value", () => {
		expect(parseLogsArgs(["--level", "w", "--tag", "app,wifi", "--grep", "up", "--no-color"])).toMatchObject({
			level: "W",
			tags: ["app", "wifi"],
			color: false,
		} satisfies Partial<LogsArgs>);
		expect(() => parseLogsArgs(["--level", "X"])).toThrow(/^--level takes E, W, I or D, not "X"$/);
		expect(() => parseLogsArgs(["--levle", "W"])).toThrow(/^unknown argument "--levle" \(did you mean "--level"\?\)$/);
		expect(() => parseLogsArgs(["--grep", "("])).toThrow(/^--grep takes a regular expression/);
		expect(parseLogsArgs(["--device", "192.168.1.20,jig-02.local", "--level", "W"])).toMatchObject({
			device: "192.168.1.20,jig-02.local",
			level: "W",
		} satisfies Partial<LogsArgs>);
		expect(parseLogsArgs(["--devices", "discover"])).toMatchObject({ devices: "discover" } satisfies Partial<LogsArgs>);
		expect(() => parseLogsArgs(["--device", "a", "--devices", "jig.txt"])).toThrow(/^--device and --devices name devices twice: give one$/);
		expect(() => parseLogsArgs(["--device", "192.168.1.20", "--port", "5010"])).toThrow(
			/^--port is for debug builds that connect here: with --device each device's log is read from its log route$/,
		);
		expect(() => parseLogsArgs(["--devices"])).toThrow(/^--devices needs a value: it takes a file \(one device a line\) or discover$/);
	});
});
