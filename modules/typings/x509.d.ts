/*
 * Types for Moddable's x509 module ($(MODULES)/crypt/etc/x509.js), used by
 * modules/tls-chain.ts; see ssl-session.d.ts.
 */
declare module "x509" {
	interface Decoded {
		tbs: Uint8Array;
		algo: number[];
		sig: ArrayBuffer;
		spki: object;
	}
	const X509: {
		decode(buffer: ArrayBuffer | Uint8Array): Decoded;
		decodeTBS(tbs: Uint8Array): { validity: { from: number; to: number } };
		/** Subject Alternative Names: tag 2 dNSName (string), 7 iPAddress (bytes); undefined when absent. */
		decodeSAN(buffer: ArrayBuffer | Uint8Array): { tag: number; value: string | ArrayBuffer }[] | undefined;
		decodeSPKI(buffer: ArrayBuffer | Uint8Array): object | undefined;
		/** The DER inside the extension with this OID's arcs (the extnValue OCTET STRING's content); undefined when absent. */
		decodeExtension(buffer: ArrayBuffer | Uint8Array, oid: number[]): ArrayBuffer | undefined;
	};
	export default X509;
}
