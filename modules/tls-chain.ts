/*
 * Whether a TLS server's certificate chain is trusted, and if not, why: the
 * check modules/tls-socket.ts puts in place of the SDK's
 * (CertificateManager.verify in $(MODULES)/crypt/ssl/ssl_cert.js).
 *
 * Why not the SDK's check (SDK 8.2.3, tried on the simulator):
 * - A leaf that fails its own checks (expired, or not signed by the next
 *   certificate) is skipped, and the chain is then accepted when its last
 *   certificate is the trusted CA: a leaf for our host name signed by any
 *   other key, sent with our CA's certificate after it, was accepted.
 * - A chain of the leaf alone never matches the host name (the name is
 *   checked only on certificates followed by an issuer) and fails with
 *   "subjectAltName match failed" although the leaf is fine.
 * - A failure says only "certificate: auth err"; the cause goes to trace.
 *
 * The rules here (RFC 5280 6.1, reduced to what a device needs):
 * - Trust: walking from the leaf, each certificate is signed either by the
 *   configured CA (the chain is trusted) or by the next certificate sent,
 *   which must then be a CA (basicConstraints cA, RFC 5280 4.2.1.9: a
 *   server's own certificate issued by our CA must not vouch for another
 *   host) and in its validity period; anything else is "not issued by the
 *   configured CA". At most maxDepth certificates are walked.
 * - The leaf is within its validity period (notBefore <= now <= notAfter).
 *   A device whose clock was never set reads 1970: "not valid yet" then
 *   names the clock as the likely cause.
 * - The host name (SNI) matches a subjectAltName of the leaf (RFC 6125 6.4):
 *   dNSName, case-insensitive, "*." wildcards for one label; iPAddress for
 *   an IPv4 literal. The subject's CN is not used (RFC 6125 6.4.4: only
 *   without any subjectAltName, which a CA no longer issues).
 */

import { clockSetAfter } from "modules/clock";
import X509 from "x509";

/** Chains longer than this are refused (leaf, intermediates). */
const maxDepth = 4;

/** What signature checks need: the SDK's own verifier (CertificateManager._verify). */
export interface SignatureCheck {
	_verify(spki: object, x509: object): boolean;
}

/** Why the chain is not trusted; the message says it in a log line's words. */
export class CertificateProblem extends Error {}

function day(time: number): string {
	return new Date(time).toISOString().slice(0, 10);
}

/** basicConstraints (2.5.29.19) with cA TRUE: SEQUENCE { BOOLEAN TRUE, … } (a DER FALSE is left out). */
function isCa(cert: Uint8Array): boolean {
	const extension = X509.decodeExtension(cert, [2, 5, 29, 19]);
	if (!extension) return false;
	const bytes = new Uint8Array(extension);
	return bytes.length >= 5 && bytes[0] === 0x30 && bytes[2] === 0x01 && bytes[3] === 0x01 && bytes[4] !== 0;
}

/** The leaf's subjectAltNames as text, for the mismatch message. */
function namesOf(names: { tag: number; value: string | ArrayBuffer }[]): string[] {
	const text: string[] = [];
	for (const name of names) {
		if (name.tag === 2) text.push(name.value as string);
		else if (name.tag === 7 && (name.value as ArrayBuffer).byteLength === 4) text.push(new Uint8Array(name.value as ArrayBuffer).join("."));
	}
	return text;
}

/** RFC 6125 6.4.3: "*" is the whole left-most label and stands for exactly one label. */
function nameMatches(pattern: string, host: string): boolean {
	pattern = pattern.toLowerCase();
	if (!pattern.startsWith("*.")) return pattern === host;
	const dot = host.indexOf(".");
	return dot > 0 && host.slice(dot) === pattern.slice(1);
}

/** Throws CertificateProblem unless certs (DER, leaf first) chain to ca and the leaf is valid now for serverName. */
export function checkServerChain(certs: Uint8Array[], ca: ArrayBuffer, serverName: string, verifier: SignatureCheck, now = Date.now()): void {
	if (!certs.length) throw new CertificateProblem("the server sent no certificate");
	if (certs.length > maxDepth) throw new CertificateProblem(`the server sent ${certs.length} certificates, more than ${maxDepth}`);

	// Trust first: a name or a date on a certificate nobody vouches for means nothing.
	const caKey = X509.decodeSPKI(ca);
	if (!caKey) throw new CertificateProblem("the configured CA certificate has no usable public key");
	for (let i = 0; ; i++) {
		const x509 = X509.decode(certs[i]);
		if (verifier._verify(caKey, x509)) break;
		const issuer = certs[i + 1];
		if (!issuer) throw new CertificateProblem(`the server's certificate is not issued by the configured CA (unknown CA)`);
		const issuerKey = X509.decodeSPKI(issuer);
		if (!issuerKey || !verifier._verify(issuerKey, x509))
			throw new CertificateProblem(
				`the server's certificate is not issued by the configured CA (unknown CA: certificate ${i} of its chain is not signed by certificate ${i + 1})`,
			);
		if (!isCa(issuer))
			throw new CertificateProblem(
				`the server's certificate is not issued by the configured CA (unknown CA: certificate ${i + 1} of its chain signed certificate ${i} but is not a CA)`,
			);
		const validity = X509.decodeTBS(X509.decode(issuer).tbs).validity;
		if (now < validity.from || now > validity.to)
			throw new CertificateProblem(`certificate ${i + 1} of the server's chain is valid ${day(validity.from)} to ${day(validity.to)} only`);
	}

	const validity = X509.decodeTBS(X509.decode(certs[0]).tbs).validity;
	if (now > validity.to) throw new CertificateProblem(`the server's certificate has expired (valid until ${day(validity.to)})`);
	if (now < validity.from)
		throw new CertificateProblem(
			`the server's certificate is not valid before ${day(validity.from)}${now < clockSetAfter ? ` and the device's clock says ${day(now)}: set the clock (SNTP) before connecting` : ""}`,
		);

	const host = serverName.toLowerCase();
	const names = X509.decodeSAN(certs[0]) ?? [];
	for (const name of names) {
		if (name.tag === 2 && nameMatches(name.value as string, host)) return;
		if (name.tag === 7 && (name.value as ArrayBuffer).byteLength === 4 && new Uint8Array(name.value as ArrayBuffer).join(".") === host) return;
	}
	const listed = namesOf(names);
	throw new CertificateProblem(
		`the server's certificate is for ${listed.length ? listed.join(", ") : "no host name (no subjectAltName)"}, not ${serverName} (name mismatch)`,
	);
}
