/*
 * The device's log lines (modules/log): "I (2034) tcp-server: message".
 * Lines that do not have that shape (an XS exception report, SDK traces)
 * are kept as they are, with level "?".
 */

export interface LogLine {
	level: "E" | "W" | "I" | "D" | "?";
	/** Milliseconds since the device booted, when the line says. */
	time?: number;
	tag: string;
	message: string;
	raw: string;
}

const shape = /^([EWID]) \((\d+)\) ([\w.-]+): (.*)$/;

export function parseLogLine(raw: string): LogLine {
	const match = shape.exec(raw);
	if (!match) return { level: "?", tag: "", message: raw, raw };
	return { level: match[1] as LogLine["level"], time: Number(match[2]), tag: match[3], message: match[4], raw };
}

/** The line the app logs once every service is up: `app: services up {json}`. */
export function servicesUp(line: LogLine): ServicesUp | undefined {
	if (line.tag !== "app" || !line.message.startsWith("services up ")) return undefined;
	return JSON.parse(line.message.slice("services up ".length)) as ServicesUp;
}

export interface ServicesUp {
	address: string;
	tcp?: number;
	udp?: number;
	ws?: number;
	wsPath?: string;
	/** The WebSocket server serves TLS: wss://. */
	wsTls?: boolean;
}

/** What the device prints on its console (only) for the person who provisions it (wifi/provisioning). */
export interface ProvisioningSecrets {
	/** The access point's name. */
	ap: string;
	/** Its WPA2 passphrase; "" when it is open. */
	passphrase: string;
	/** The code the provisioning page asks for. */
	code: string;
}

const secretsShape = /^to provision, join the (?:open )?access point "(.*?)"(?: with the passphrase "(.*)")? and enter the code "(.*)" on its page \(/;

/** The secrets from the line `provisioning: to provision, join the access point "…" with the passphrase "…" and enter the code "…" on its page (…)`. */
export function provisioningSecrets(line: LogLine): ProvisioningSecrets | undefined {
	if (line.tag !== "provisioning") return undefined;
	const match = secretsShape.exec(line.message);
	return match ? { ap: match[1], passphrase: match[2] ?? "", code: match[3] } : undefined;
}
