/*
 * Moddable's SDK `websocket` module ($MODDABLE/modules/network/websocket),
 * for the Node-hosted device: NOT provided. That module runs on the SDK's
 * older `socket` module (Socket, Listener with callback(message, value)),
 * which the Node host does not mirror. Deviation: constructing a Server or a
 * Client throws, saying so, and `unavailable` says why beforehand, so that
 * `wsImpl=sdk` leaves the WebSocket service out with a logged reason on the
 * Node-hosted device instead of aborting the app. It runs on the simulator
 * and on esp32.
 */

const reason = "the Node-hosted device has no Moddable `socket` module, which the SDK's websocket module runs on: wsImpl=sdk runs on the simulator and esp32";

class Unavailable {
	static readonly unavailable = reason;
	static readonly connect = 1;
	static readonly handshake = 2;
	static readonly receive = 3;
	static readonly disconnect = 4;
	static readonly subprotocol = 5;
	callback: ((message: number, value?: unknown) => void) | undefined;
	constructor() {
		throw new Error(reason);
	}
	close(): void {}
	write(): void {}
}

export class Server extends Unavailable {}
export class Client extends Unavailable {}
