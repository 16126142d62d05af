import { NvsecError } from '../errors/nvsec-error.js';
import { CKA, CKS } from '../pkcs11/constants.js';
import { PKCS11_LABELS } from '../pkcs11/pal/default-labels.js';
import { connectTls, type TlsClientOptions, type TlsConnection } from '../tls/tls-client.js';
import { tokenSigner } from '../tls/token-signer.js';
import type { BootedDevice } from './boot.js';

/** Options of {@link connectDevice}: those of `connectTls` without the client chain and signer, which come from the device's token. */
export type ConnectDeviceOptions = Omit<TlsClientOptions, 'clientChain' | 'signer'>;

/** The token object that holds the device's TLS key. */
export const DEVICE_TLS_KEY_LABEL = PKCS11_LABELS.pkcs11configLABEL_DEVICE_PRIVATE_KEY_FOR_TLS;

/**
 * The certificate chain the device presents in TLS, DER: its certificate, then each issuer the
 * boot found on the token (report.identity.chain), without the self-issued root (the server has
 * its own copy of the root; sending it only costs bytes). The DERs are read from the token's
 * certificate objects (CKA_VALUE).
 *
 * @throws NvsecError `DEVICE_NO_CERTIFICATE` when a certificate of the boot report is no longer on the token
 * @example
 * const chain = deviceClientChain(device); // [device certificate, JITP (intermediate) certificate]
 */
export function deviceClientChain(device: BootedDevice): Uint8Array[] {
  const chain: Uint8Array[] = [];
  for (const cert of device.report.identity.chain) {
    if (cert.selfIssued && chain.length > 0) break; // the root: the server trusts it already
    const found = device.session.find({ label: cert.label, class: 'certificate' });
    if (found[0] === undefined) throw new NvsecError('DEVICE_NO_CERTIFICATE', `the token no longer holds the "${cert.label}" certificate the boot read (${cert.subject})`);
    chain.push(device.session.attribute(found[0], CKA.CKA_VALUE));
  }
  return chain;
}

/**
 * Connects a booted device to a TLS 1.3 server as the device would: the server is validated
 * against the pinned `trustAnchors` only (and its host name against `serverName`); when it asks
 * for a client certificate, the device presents {@link deviceClientChain} and signs the
 * CertificateVerify with the token's "Device Priv TLS Key" (the key never leaves the token).
 *
 * With TLS 1.3 the server judges the client certificate after the client's Finished: a server
 * that refuses the device (unknown CA, revoked) says so with an alert on the first `read()`.
 *
 * @throws NvsecError `TLS_CA_REQUIRED` when `trustAnchors` is empty (before anything else);
 *   `DEVICE_NOT_LOGGED_IN` when the device was booted without the user PIN (the key is private);
 *   `DEVICE_NO_PRIVATE_KEY` when the token holds no "Device Priv TLS Key"; `TLS_KEY_UNSUITABLE`;
 *   and the errors of `connectTls` (`TLS_UNTRUSTED_SERVER`, `TLS_CERT_EXPIRED`,
 *   `TLS_HOST_MISMATCH`, `TLS_ALERT`, `TLS_CONNECT`, `TLS_TIMEOUT`…)
 * @example
 * const device = await bootDevice({ flash, efuse, crypto: nodeCrypto, keys, pin });
 * const conn = await connectDevice(device, {
 *   connect: () => nodeTcpTransport('broker.local', 8883), serverName: 'broker.local',
 *   trustAnchors: [caDer], crypto: nodeCrypto, tlsCrypto: nodeTlsCrypto,
 * });
 * await conn.write(new TextEncoder().encode('hello\n'));
 * await conn.close();
 */
export async function connectDevice(device: BootedDevice, options: ConnectDeviceOptions): Promise<TlsConnection> {
  if (options.trustAnchors.length === 0) {
    throw new NvsecError('TLS_CA_REQUIRED', 'no CA given: the device refuses to connect to a server it cannot validate (pass the CA that issued the server certificate, e.g. from `nvsec tls fetch-ca`)');
  }
  const { session } = device;
  const state = session.token.getSessionInfo(session.handle).state;
  if (state !== CKS.CKS_RO_USER_FUNCTIONS && state !== CKS.CKS_RW_USER_FUNCTIONS) {
    throw new NvsecError('DEVICE_NOT_LOGGED_IN', `the device's token session is not logged in: its "${DEVICE_TLS_KEY_LABEL}" is private; boot the device with the user PIN`);
  }
  const keys = session.find({ label: DEVICE_TLS_KEY_LABEL, class: 'private-key' });
  if (keys[0] === undefined) {
    throw new NvsecError('DEVICE_NO_PRIVATE_KEY', `the device's token holds no "${DEVICE_TLS_KEY_LABEL}": the device was not provisioned with a TLS key`);
  }
  if (keys.length > 1) {
    throw new NvsecError('DEVICE_NO_PRIVATE_KEY', `the device's token holds ${keys.length} private keys labelled "${DEVICE_TLS_KEY_LABEL}": which one signs is ambiguous; remove the extra ones`);
  }
  const signer = tokenSigner(session, keys[0]);
  return connectTls({ ...options, clientChain: deviceClientChain(device), signer });
}
