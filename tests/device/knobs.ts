/*
 * Volumes per target. The assertions are the same everywhere; only how much
 * is pushed through differs: the simulator polls its sockets every 20 ms
 * with a 1536-byte buffer (about 0.1 MB/s of echo), a board sits behind
 * WiFi, and the Node-hosted device carries volume.
 */

import type { TargetName } from "../../host-harness/device/targets.js";

export interface Knobs {
	/** TCP echo exactness sizes (bytes). */
	echoSizes: number[];
	/** Bytes streamed through the echo while the harness reads slowly. */
	streamBytes: number;
	/** Most the device process may grow while streaming (bytes of resident memory); undefined where it cannot be read. */
	streamRssGrowth?: number;
	/** UDP datagram sizes. */
	udpSizes: number[];
	/** UDP senders at once, datagrams each. */
	udpSenders: number;
	udpDatagramsEach: number;
	/** Timeout for one echo (ms). */
	echoTimeoutMs: number;
}

const MiB = 1024 * 1024;

const boardKnobs: Knobs = {
	echoSizes: [0, 1, 127, 128, 1500, 65536, MiB],
	streamBytes: 8 * MiB,
	udpSizes: [0, 1, 512, 1472],
	udpSenders: 10,
	udpDatagramsEach: 5,
	echoTimeoutMs: 60_000,
};

const simKnobs: Knobs = {
	echoSizes: [0, 1, 127, 128, 1500, 65536],
	streamBytes: 512 * 1024,
	streamRssGrowth: 16 * MiB,
	// The simulator's UDP socket drops empty datagrams before the app sees
	// them ($MODDABLE/modules/io/socket/lin/udp.c: recvfrom() <= 0 is ignored).
	udpSizes: [1, 512, 1472],
	udpSenders: 10,
	udpDatagramsEach: 3,
	echoTimeoutMs: 30_000,
};

export const knobs: Record<TargetName, Knobs> = {
	node: {
		echoSizes: [0, 1, 127, 128, 1500, 65536, MiB],
		streamBytes: 256 * MiB,
		streamRssGrowth: 64 * MiB,
		udpSizes: [0, 1, 512, 1472],
		udpSenders: 20,
		udpDatagramsEach: 10,
		echoTimeoutMs: 10_000,
	},
	sim: simKnobs,
	// DEVICE_KNOBS=sim: a simulator stands in for the board (a test of check --device itself).
	board: process.env.DEVICE_KNOBS === "sim" ? { ...simKnobs, streamRssGrowth: undefined } : boardKnobs,
};
