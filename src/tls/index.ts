export { certificateVerifyContent } from './certificate-verify.js';
export { type ServerChainOptions, verifyServerChain } from './server-chain.js';
export { connectTls, fetchServerChain, TLS_ALERTS, type TlsClientOptions, type TlsConnection, type TlsTransport } from './tls-client.js';
export type { Aead, KeyShare, TlsCrypto } from './tls-crypto.js';
export { TLS_SIGNATURE_SCHEMES, type TlsSignatureSchemeName, type TlsSigner, tokenSigner } from './token-signer.js';
