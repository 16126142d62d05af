import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { type Command, Option } from 'commander';
import { DER_TAG } from '../bytes/der.js';
import { fromHex, toHex } from '../bytes/hex.js';
import { TOKEN_CURVE_BYTES, type TokenCurve } from '../crypto/key-crypto.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { CKA, CKF_MECHANISM, CKF_TOKEN } from '../pkcs11/constants.js';
import { digestInfo } from '../crypto/digest-info.js';
import { ecdsaDerToRaw, ecdsaRawToDer } from '../crypto/ecdsa-signature.js';
import { publicLabelFor } from '../pkcs11/pal/default-labels.js';
import { ckmName, flagNames } from '../pkcs11/constant-name.js';
import { type ObjectClassName, OBJECT_CLASSES, type ObjectSummary, SIGN_ALGORITHMS, type SignAlgorithm, TokenSession } from '../pkcs11/token-session.js';
import { decodeEcPoint, ecSpki, rsaSpki } from '../pkcs11/token/key-encoding.js';
import type { Token } from '../pkcs11/token/token.js';
import { serveP11Kit } from '../node/p11-kit-server.js';
import { readBinaryFile } from './_files.js';
import { parseSize } from './_nvs-args.js';
import { EXIT, runAction, usageError } from './_run.js';
import {
  NEW_PIN,
  readCertificateFile,
  readPin,
  readPrivateKeyFile,
  readPublicKeyFile,
  requirePin,
  SO_PIN,
  spkiPem,
  USER_PIN,
  writeOutput,
} from './_token-input.js';
import { NVS_STORE_PREFIX, type OpenTokenStore, openTokenStore, TOKEN_NVS_SEED_NAMESPACE, type TokenStoreOptions } from './_token-store.js';

interface StoreOptions {
  store: string;
  nvsKeys?: string;
  json?: boolean;
  pin?: string;
  pinFile?: string;
  soPin?: string;
  soPinFile?: string;
}

/** Errors that refuse the user's input (exit 2): bad files, missing PINs, refused requests. */
const REFUSED = new Set(['CLI_FILE_READ', 'TOKEN_BAD_KEY', 'TOKEN_BAD_CERT', 'TOKEN_BAD_PIN', 'TOKEN_NO_PIN', 'TOKEN_REFUSED', 'TOKEN_NO_STORE', 'NVS_BAD_SIZE']);
const rejects = (e: unknown): boolean => e instanceof NvsecError && REFUSED.has(e.code);
const refuse = (message: string): never => {
  throw new NvsecError('TOKEN_REFUSED', message);
};

const utf8 = new TextEncoder();
const KEYGEN_TYPES = ['ec:P-256', 'ec:P-384', 'rsa:2048', 'rsa:3072'] as const;
const HASHES = ['sha256', 'sha384', 'sha512'] as const;
type HashChoice = (typeof HASHES)[number];
const SECRET_KEY_ALGORITHMS = new Set<SignAlgorithm>(['SHA256-HMAC', 'AES-CMAC']);
const isEcdsa = (a: SignAlgorithm): boolean => a.startsWith('ECDSA');

const HELP_AFTER = `
STORE is a directory (the host token: objects in files, private ones AES-GCM encrypted under a
key the user PIN unwraps, NV seed in STORE/nv-seed.bin) or nvs:IMAGE.bin, an NVS partition image
(objects in namespace "pkcs11", XTS-encrypted at rest with --nvs-keys KEYS.bin from
nvsec nvs generate-key; the DRBG's NV seed in namespace "${TOKEN_NVS_SEED_NAMESPACE}", key nv_seed, of the same
partition). Both seed the token's CTR_DRBG with the NV seed and OS entropy.

PINs: --pin PIN or --pin-file FILE (first line) or NVSEC_PIN; the SO PIN likewise with --so-pin,
--so-pin-file, NVSEC_SO_PIN. PINs are never printed; on a shared machine prefer the file or the
environment, as other users can see command lines. Commands that use private objects log in as
the user; without a PIN, list shows public objects only.

Exit status: 0 ok, 1 failure (a PKCS#11 error prints its CKR, e.g. a wrong PIN with the tries
left), 2 refused input (bad option or file, missing PIN, ambiguous label). verify exits 1 when
the signature is invalid.

Example flow:
  $ export NVSEC_PIN=123456
  $ nvsec token init --store tok --label factory --so-pin 87654321
  $ nvsec token keygen --store tok --type ec:P-256 --label "Device Priv TLS Key" --id 01 --public-out dev.pub.pem
  $ nvsec token sign --store tok --key "Device Priv TLS Key" --mechanism ECDSA-SHA256 --in msg.bin --out sig.der --format der
  $ openssl dgst -sha256 -verify dev.pub.pem -signature sig.der msg.bin
  $ nvsec token import --store tok --cert device.crt --label "Device Cert" --id 01
  $ nvsec token list --store tok
  $ nvsec token info --store nvs:nvs.bin --nvs-keys nvs_keys.bin --json
`;

/**
 * Registers `nvsec token init|info|list|import|keygen|sign|verify|delete|change-pin`: the PKCS#11
 * token in a directory or an NVS partition image, from the command line.
 *
 * @throws never at registration; commands exit 1 on failure (PKCS#11 errors name their CKR) and 2
 *   on refused input
 * @example
 * registerTokenCommands(program); // nvsec token info --store tok
 */
export function registerTokenCommands(program: Command): void {
  const token = program
    .command('token')
    .description('PKCS#11 token in a directory or NVS image: init, info, list, import, keygen, sign, verify, delete, change-pin')
    .addHelpText('after', HELP_AFTER);

  const withStore = (cmd: Command): Command =>
    cmd
      .requiredOption('--store <store>', 'token directory, or nvs:IMAGE.bin (an NVS partition image)')
      .option('--nvs-keys <file>', 'keys partition image (nvs generate-key) of an encrypted nvs: image');
  const withPin = (cmd: Command): Command =>
    cmd.option('--pin <pin>', 'user PIN (or --pin-file, or NVSEC_PIN)').option('--pin-file <file>', 'file whose first line is the user PIN');
  const withSoPin = (cmd: Command): Command =>
    cmd.option('--so-pin <pin>', 'SO PIN (or --so-pin-file, or NVSEC_SO_PIN)').option('--so-pin-file <file>', 'file whose first line is the SO PIN');
  const pinIterations = (): Option =>
    new Option('--pin-iterations <n>', 'PBKDF2-SHA256 iterations of the PINs set now (default 100000; lower only for tests)').argParser((v) => positiveInt(v, '--pin-iterations'));
  const json = (cmd: Command): Command => cmd.option('--json', 'print the result as JSON');

  json(
    withPin(
      withSoPin(
        withStore(
          token
            .command('init')
            .description('Initialise the token (C_InitToken), set the user PIN (C_InitPIN); refuses an initialised token unless --force')
            .requiredOption('--label <label>', 'token label (at most 32 bytes)')
            .option('--force', 're-initialise an initialised token: erases every object (needs its SO PIN)')
            .option('--nvs-size <bytes>', 'nvs: create a missing image of this size, erased (e.g. 0x6000)')
            .addOption(pinIterations())
            .addHelpText(
              'after',
              `
A missing directory is created (0700). --force erases every object of an initialised token and
needs its current SO PIN (--so-pin); the new user PIN is --pin.

Example:
  $ nvsec token init --store tok --label factory --so-pin 87654321 --pin 123456
  $ nvsec token init --store nvs:nvs.bin --nvs-size 0x6000 --nvs-keys nvs_keys.bin --label dev --so-pin-file so.txt --pin-file pin.txt`,
            ),
        ),
      ),
    ),
  ).action(runAction((opts: StoreOptions & { label: string; force?: boolean; nvsSize?: string; pinIterations?: number }) => initToken(opts), { rejects }));

  json(
    withStore(
      token
        .command('info')
        .description('Token info: label, serial, decoded flags (initialised, user PIN set, PIN counters), mechanisms')
        .addHelpText('after', '\nExample:\n  $ nvsec token info --store tok --json | jq .userPin'),
    ),
  ).action(runAction((opts: StoreOptions) => info(opts), { rejects }));

  json(
    withPin(
      withStore(
        token
          .command('list')
          .description('List the objects (handle, class, label, id, key type, flags); without a PIN the public ones only')
          .addOption(new Option('--class <class>', 'only objects of this class').choices(Object.keys(OBJECT_CLASSES)))
          .option('--label <label>', 'only objects with this label')
          .addHelpText('after', '\nExample:\n  $ nvsec token list --store tok --pin-file pin.txt --class private-key --json'),
      ),
    ),
  ).action(runAction((opts: StoreOptions & { class?: ObjectClassName; label?: string }) => list(opts), { rejects }));

  json(
    withPin(
      withStore(
        token
          .command('import')
          .description('Store a certificate, private key (with its public key), public key or secret key')
          .option('--cert <file>', 'X.509 certificate, PEM or DER')
          .option('--key <file>', 'private key, PEM or DER (PKCS#8, SEC1 EC, PKCS#1 RSA); its public key is stored too')
          .option('--public-key <file>', 'public key, PEM or DER (SubjectPublicKeyInfo, PKCS#1 RSA)')
          .option('--secret <file>', 'raw secret key bytes (with --type)')
          .addOption(new Option('--type <type>', 'secret key type').choices(['sha256-hmac', 'aes']))
          .requiredOption('--label <label>', 'label of the new object(s)')
          .option('--id <hex>', 'CKA_ID in hex (pairs a key with its certificate)')
          .option('--extractable', 'private key: allow it to leave the token later (default: never)')
          .addHelpText(
            'after',
            `
Refuses a label already used by an object of the same class (delete it first). Private keys are
stored sensitive and, unless --extractable, never extractable.

Examples:
  $ nvsec token import --store tok --cert device.crt --label "Device Cert" --id 01
  $ nvsec token import --store tok --key device.key.pem --label "Device Priv TLS Key" --id 01
  $ nvsec token import --store tok --secret hmac.bin --type sha256-hmac --label mac`,
          ),
      ),
    ),
  ).action(runAction((opts: ImportOptions, cmd: Command) => importObject(opts, cmd), { rejects }));

  json(
    withPin(
      withStore(
        token
          .command('keygen')
          .description('Generate a key pair inside the token; prints the handles, the EC point and the SPKI SHA-256 fingerprint')
          .addOption(new Option('--type <type>', 'key type').choices([...KEYGEN_TYPES]).makeOptionMandatory())
          .requiredOption('--label <label>', 'label of both halves')
          .option('--id <hex>', 'CKA_ID in hex of both halves')
          .option('--public-out <file>', 'write the public key as PEM (SubjectPublicKeyInfo)')
          .addHelpText('after', '\nExample:\n  $ nvsec token keygen --store tok --type ec:P-256 --label "Device Priv TLS Key" --id 01 --public-out dev.pub.pem'),
      ),
    ),
  ).action(runAction((opts: KeygenOptions, cmd: Command) => keygen(opts, cmd), { rejects }));

  const signAlgorithms = Object.keys(SIGN_ALGORITHMS);
  const signVerify = (cmd: Command): Command =>
    json(
      withPin(
        withStore(
          cmd
            .requiredOption('--key <label>', 'label of the key')
            .addOption(new Option('--mechanism <name>', 'algorithm (pkcs11-tool -m names)').choices(signAlgorithms).makeOptionMandatory())
            .requiredOption('--in <file>', 'the data (for ECDSA and RSA-PKCS without --hash: the digest / DigestInfo)')
            .addOption(new Option('--hash <hash>', 'ECDSA, RSA-PKCS: hash the input first (RSA-PKCS: and wrap it in a DigestInfo)').choices([...HASHES]))
            .addOption(new Option('--format <format>', 'ECDSA signature encoding: raw r‖s, or DER (as openssl)').choices(['raw', 'der']).default('raw')),
        ),
      ),
    );
  signVerify(
    token
      .command('sign')
      .description('Sign a file with a private key (or an HMAC/CMAC secret key) of the token')
      .requiredOption('--out <file>', 'where the signature goes')
      .addHelpText(
        'after',
        `
Examples:
  $ nvsec token sign --store tok --key "Device Priv TLS Key" --mechanism ECDSA-SHA256 --in msg.bin --out sig.bin
  $ nvsec token sign --store tok --key k --mechanism ECDSA --hash sha256 --in msg.bin --out sig.der --format der
  $ nvsec token sign --store tok --key rsa --mechanism RSA-PKCS --hash sha256 --in msg.bin --out sig.bin`,
      ),
  ).action(runAction((opts: SignOptions, cmd: Command) => sign(opts, cmd), { rejects }));
  signVerify(
    token
      .command('verify')
      .description('Verify a signature with a public key (a private key\'s label: its public key); exit 0 "Signature OK", 1 "Signature invalid"')
      .requiredOption('--signature <file>', 'the signature')
      .addHelpText('after', '\nExample:\n  $ nvsec token verify --store tok --key "Device Priv TLS Key" --mechanism ECDSA-SHA256 --in msg.bin --signature sig.bin'),
  ).action(runAction((opts: SignOptions & { signature: string }, cmd: Command) => verify(opts, cmd), { rejects }));

  json(
    withPin(
      withStore(
        token
          .command('delete')
          .description('Delete objects by label (unique, or --class, or --all) or by handle')
          .option('--label <label>', 'label of the object')
          .addOption(new Option('--class <class>', 'with --label: only objects of this class').choices(Object.keys(OBJECT_CLASSES)))
          .option('--all', 'with --label: delete every object with it (both halves of a key pair)')
          .option('--handle <n>', 'handle of the object (as list shows it)')
          .addHelpText('after', '\nExamples:\n  $ nvsec token delete --store tok --label old --class private-key\n  $ nvsec token delete --store tok --label old --all\n  $ nvsec token delete --store tok --handle 258'),
      ),
    ),
  ).action(runAction((opts: DeleteOptions, cmd: Command) => deleteObjects(opts, cmd), { rejects }));

  json(
    withSoPin(
      withPin(
        withStore(
          token
            .command('change-pin')
            .description('Change the user PIN (--pin OLD) or, with --so, the SO PIN (--so-pin OLD) to --new-pin')
            .option('--so', 'change the SO PIN')
            .option('--new-pin <pin>', 'the new PIN (or --new-pin-file, or NVSEC_NEW_PIN)')
            .option('--new-pin-file <file>', 'file whose first line is the new PIN')
            .addOption(pinIterations())
            .addHelpText('after', '\nExamples:\n  $ nvsec token change-pin --store tok --pin 123456 --new-pin 654321\n  $ nvsec token change-pin --store tok --so --so-pin 87654321 --new-pin 12345678'),
        ),
      ),
    ),
  ).action(runAction((opts: StoreOptions & { so?: boolean; newPin?: string; newPinFile?: string; pinIterations?: number }) => changePin(opts), { rejects }));

  json(
    withStore(
      token
        .command('serve')
        .description('Serve the token to native PKCS#11 programs over the p11-kit RPC protocol (p11-kit-client.so) on a unix socket')
        .requiredOption('--socket <path>', 'unix socket to listen on (created mode 0600; a stale socket there is replaced)')
        .addOption(pinIterations())
        .addHelpText(
          'after',
          `
Prints P11_KIT_SERVER_ADDRESS=unix:path=... and serves until SIGINT or SIGTERM. A missing
directory STORE is created as an uninitialised token (initialise it through the client, e.g.
pkcs11-tool --init-token). Each client connection has its own sessions; the token is shared.
A login belongs to the client that made it: while one client is logged in, the others are
refused every call that touches what the login protects (CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
until it logs out, closes its last session or disconnects. The socket is mode 0600.

Example:
  $ nvsec token serve --store tok --socket tok.sock &
  $ export P11_KIT_SERVER_ADDRESS=unix:path=$PWD/tok.sock
  $ pkcs11-tool --module /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so -L`,
        ),
    ),
  ).action(runAction((opts: StoreOptions & { socket: string; pinIterations?: number }) => serve(opts), { rejects }));
}

interface ImportOptions extends StoreOptions {
  cert?: string;
  key?: string;
  publicKey?: string;
  secret?: string;
  type?: 'sha256-hmac' | 'aes';
  label: string;
  id?: string;
  extractable?: boolean;
}
interface KeygenOptions extends StoreOptions {
  type: (typeof KEYGEN_TYPES)[number];
  label: string;
  id?: string;
  publicOut?: string;
}
interface SignOptions extends StoreOptions {
  key: string;
  mechanism: SignAlgorithm;
  in: string;
  out: string;
  hash?: HashChoice;
  format: 'raw' | 'der';
}
interface DeleteOptions extends StoreOptions {
  label?: string;
  class?: ObjectClassName;
  all?: boolean;
  handle?: string;
}

// ------------------------------------------------------------------------------------ helpers

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new NvsecError('TOKEN_REFUSED', `${what} must be a positive whole number, got "${text}"`);
  return n;
}

/** Opens the store, runs `work`, closes the store whatever happens. */
async function withToken<T>(opts: StoreOptions, work: (store: OpenTokenStore, token: Token) => T, extra: TokenStoreOptions = {}): Promise<T> {
  const store = await openTokenStore(opts.store, { ...(opts.nvsKeys === undefined ? {} : { nvsKeys: opts.nvsKeys }), ...extra });
  for (const note of store.p11.token.notes) process.stderr.write(`nvsec: warning: ${note}\n`);
  try {
    return work(store, store.p11.token);
  } finally {
    store.close();
  }
}

/** Says on stderr that a private key is about to be stored unencrypted (an nvs: image without --nvs-keys). */
function warnPlaintext(store: OpenTokenStore): void {
  if (store.kind === 'nvs' && !store.encrypted) {
    process.stderr.write(`nvsec: warning: ${store.description} is not encrypted (no --nvs-keys): the key is stored in plaintext; on a device use an encrypted NVS partition\n`);
  }
}

function isInitialized(token: Token): boolean {
  return (token.getTokenInfo(token.slotId).flags & CKF_TOKEN.CKF_TOKEN_INITIALIZED) !== 0;
}

function requireInitialized(token: Token, opts: StoreOptions): void {
  if (!isInitialized(token)) throw new NvsecError('TOKEN_NOT_INITIALIZED', `The token in ${opts.store} is not initialised: run nvsec token init --store ${opts.store} --label L first`);
}

/** A session, logged in as the user when a PIN is given (or `needPin`, which then requires one). */
function session(token: Token, opts: StoreOptions, rw: boolean, needPin: string | null): { s: TokenSession; loggedIn: boolean } {
  requireInitialized(token, opts);
  const pin = needPin === null ? readPin(opts, USER_PIN) : requirePin(opts, USER_PIN, needPin);
  const s = TokenSession.open(token, { readWrite: rw });
  try {
    if (pin !== null) s.login(pin);
  } catch (e) {
    s.close();
    throw e;
  }
  return { s, loggedIn: pin !== null };
}

function parseId(hex: string | undefined, cmd: Command): Uint8Array | undefined {
  if (hex === undefined) return undefined;
  const clean = hex.replace(/^0x/i, '').replace(/:/g, '');
  try {
    return fromHex(clean);
  } catch (e) {
    return usageError(cmd, `--id must be hex bytes (e.g. 01 or a1b2), got "${hex}": ${(e as Error).message}`);
  }
}

function checkLabel(label: string, cmd: Command): void {
  const n = utf8.encode(label).length;
  if (n === 0 || n > 32) usageError(cmd, `--label must be 1..32 bytes of UTF-8, got ${n}`);
}

/** Refuses a second object of the same class and label: later lookups by label would be ambiguous. */
function requireFreeLabel(s: TokenSession, label: string, cls: ObjectClassName): void {
  const taken = s.find({ label, class: cls });
  if (taken.length > 0) refuse(`A ${cls} labelled "${label}" exists already (handle ${taken.join(', ')}): delete it first (nvsec token delete --label ... --class ${cls}) or choose another label`);
}

const print = (opts: { json?: boolean }, value: unknown, text: string): void => {
  console.log(opts.json === true ? JSON.stringify(value, null, 1) : text);
};

/** SubjectPublicKeyInfo DER of a public key object. */
function publicSpki(s: TokenSession, handle: number): { spki: Uint8Array; point?: Uint8Array } {
  const d = s.describe(handle);
  if (d.keyType === 'EC' && d.curve !== undefined) {
    const point = decodeEcPoint(d.curve, s.attribute(handle, CKA.CKA_EC_POINT));
    if (point === null) throw new NvsecError('TOKEN_BAD_KEY', `public key ${handle} holds a malformed CKA_EC_POINT`);
    return { spki: ecSpki(d.curve, point), point };
  }
  if (d.keyType === 'RSA') return { spki: rsaSpki(s.attribute(handle, CKA.CKA_MODULUS), s.attribute(handle, CKA.CKA_PUBLIC_EXPONENT)) };
  throw new NvsecError('TOKEN_BAD_KEY', `object ${handle} is not an EC or RSA public key`);
}

const fingerprint = (spki: Uint8Array): string => crypto.createHash('sha256').update(spki).digest('hex');

// ------------------------------------------------------------------------------------ commands

async function initToken(opts: StoreOptions & { label: string; force?: boolean; nvsSize?: string; pinIterations?: number }): Promise<void> {
  const labelBytes = utf8.encode(opts.label).length;
  if (labelBytes > 32) refuse(`--label is ${labelBytes} bytes; a token label holds at most 32`);
  const soPin = requirePin(opts, SO_PIN, 'token init');
  const userPin = requirePin(opts, USER_PIN, 'token init');
  const extra: TokenStoreOptions = {
    create: true,
    ...(opts.nvsSize === undefined ? {} : { nvsSize: parseSize(opts.nvsSize) }),
    ...(opts.pinIterations === undefined ? {} : { pinIterations: opts.pinIterations }),
  };
  // A failed init leaves no half-made store behind: remove what this run created.
  const target = opts.store.startsWith(NVS_STORE_PREFIX) ? opts.store.slice(NVS_STORE_PREFIX.length) : opts.store;
  const existed = target === '' || fs.existsSync(target);
  try {
    await initStore(opts, soPin, userPin, extra);
  } catch (e) {
    if (!existed) fs.rmSync(target, { recursive: true, force: true });
    throw e;
  }
}

async function initStore(opts: StoreOptions & { label: string; force?: boolean }, soPin: string, userPin: string, extra: TokenStoreOptions): Promise<void> {
  await withToken(
    opts,
    (store, token) => {
      const before = token.getTokenInfo(token.slotId);
      if ((before.flags & CKF_TOKEN.CKF_TOKEN_INITIALIZED) !== 0 && opts.force !== true) {
        refuse(`The token in ${opts.store} is initialised already ("${before.label.trimEnd()}", serial ${before.serialNumber.trim()}): --force re-initialises it, erasing every object (with its SO PIN)`);
      }
      for (const [what, pin] of [
        ['SO PIN', soPin],
        ['user PIN', userPin],
      ] as const) {
        const n = utf8.encode(pin).length;
        if (n < before.minPinLen || n > before.maxPinLen) throw new NvsecError('TOKEN_BAD_PIN', `The ${what} is ${n} bytes; PINs are ${before.minPinLen}..${before.maxPinLen} bytes`);
      }
      const so = utf8.encode(soPin);
      try {
        token.initToken(token.slotId, so, opts.label);
      } finally {
        so.fill(0);
      }
      const s = TokenSession.open(token, { readWrite: true });
      try {
        s.login(soPin, 'so');
        s.initPin(userPin);
      } finally {
        s.close();
      }
      const after = token.getTokenInfo(token.slotId);
      const result = { store: opts.store, label: after.label.trimEnd(), serialNumber: after.serialNumber.trim(), reinitialized: (before.flags & CKF_TOKEN.CKF_TOKEN_INITIALIZED) !== 0, userPinInitialized: true };
      print(opts, result, `Initialised token "${result.label}" (serial ${result.serialNumber}) in ${store.description}; SO and user PINs set`);
    },
    extra,
  );
}

const pinState = (flags: number, who: 'USER' | 'SO'): { countLow: boolean; finalTry: boolean; locked: boolean; toBeChanged: boolean } => ({
  countLow: (flags & CKF_TOKEN[`CKF_${who}_PIN_COUNT_LOW`]) !== 0,
  finalTry: (flags & CKF_TOKEN[`CKF_${who}_PIN_FINAL_TRY`]) !== 0,
  locked: (flags & CKF_TOKEN[`CKF_${who}_PIN_LOCKED`]) !== 0,
  toBeChanged: (flags & CKF_TOKEN[`CKF_${who}_PIN_TO_BE_CHANGED`]) !== 0,
});

function pinWords(p: ReturnType<typeof pinState>): string {
  if (p.locked) return 'LOCKED';
  if (p.finalTry) return 'final try left';
  if (p.countLow) return 'wrong tries since the last good one';
  return 'ok';
}

async function info(opts: StoreOptions): Promise<void> {
  await withToken(opts, (store, token) => {
    const t = token.getTokenInfo(token.slotId);
    const mechanisms = token.getMechanismList(token.slotId).map((m) => {
      const mi = token.getMechanismInfo(token.slotId, m);
      return { name: ckmName(m), value: m, minKeySize: mi.minKeySize, maxKeySize: mi.maxKeySize, flags: flagNames(CKF_MECHANISM, mi.flags) };
    });
    const initialized = (t.flags & CKF_TOKEN.CKF_TOKEN_INITIALIZED) !== 0;
    const result = {
      store: opts.store,
      kind: store.kind,
      encrypted: store.encrypted,
      nvSeed: store.nvSeed,
      label: t.label.trimEnd(),
      serialNumber: t.serialNumber.trim(),
      manufacturerID: t.manufacturerID.trimEnd(),
      model: t.model.trimEnd(),
      firmwareVersion: `${t.firmwareVersion.major}.${t.firmwareVersion.minor}`,
      flags: t.flags,
      flagNames: flagNames(CKF_TOKEN, t.flags),
      initialized,
      userPinInitialized: (t.flags & CKF_TOKEN.CKF_USER_PIN_INITIALIZED) !== 0,
      userPin: pinState(t.flags, 'USER'),
      soPin: pinState(t.flags, 'SO'),
      minPinLength: t.minPinLen,
      maxPinLength: t.maxPinLen,
      mechanisms,
    };
    const lines = [
      `Token       "${result.label}"  serial ${result.serialNumber || '-'}  (${result.model} by ${result.manufacturerID}, firmware ${result.firmwareVersion})`,
      `Store       ${store.description}; NV seed: ${store.nvSeed}`,
      `State       ${initialized ? 'initialised' : 'NOT initialised (nvsec token init)'}, ${result.userPinInitialized ? 'user PIN set' : 'no user PIN'}`,
      `User PIN    ${pinWords(result.userPin)}`,
      `SO PIN      ${pinWords(result.soPin)}`,
      `PIN length  ${t.minPinLen}..${t.maxPinLen} bytes`,
      `Flags       ${result.flagNames.join(' ')}`,
      `Mechanisms  ${mechanisms.length}`,
      ...mechanisms.map((m) => `  ${m.name.padEnd(28)} ${m.minKeySize || m.maxKeySize ? `${m.minKeySize}..${m.maxKeySize}`.padEnd(10) : ''.padEnd(10)} ${m.flags.map((f) => f.replace(/^CKF_/, '').toLowerCase()).join(' ')}`),
    ];
    print(opts, result, lines.join('\n'));
  });
}

function typeText(o: ObjectSummary): string {
  if (o.class === 'certificate') return 'X.509';
  if (o.keyType === undefined) return '';
  return [o.keyType, o.curve ?? (o.bits === undefined ? '' : String(o.bits))].filter(Boolean).join(' ');
}

function flagText(o: ObjectSummary): string {
  return [o.private ? 'private' : '', o.sensitive === true ? 'sensitive' : '', o.extractable === true ? 'extractable' : '', o.local === true ? 'local' : '', o.token ? '' : 'session']
    .filter(Boolean)
    .join(',');
}

async function list(opts: StoreOptions & { class?: ObjectClassName; label?: string }): Promise<void> {
  await withToken(opts, (_store, token) => {
    const { s, loggedIn } = session(token, opts, false, null);
    try {
      const objects = s.list({ ...(opts.class === undefined ? {} : { class: opts.class }), ...(opts.label === undefined ? {} : { label: opts.label }) });
      if (!loggedIn) console.error('nvsec: not logged in: public objects only (give --pin, --pin-file or NVSEC_PIN to see private ones)');
      if (opts.json === true) {
        print(opts, { loggedIn, objects }, '');
        return;
      }
      if (objects.length === 0) {
        console.log('no objects');
        return;
      }
      const rows = [['HANDLE', 'CLASS', 'LABEL', 'ID', 'TYPE', 'FLAGS'], ...objects.map((o) => [String(o.handle), o.class, o.label, o.id || '-', typeText(o), flagText(o)])];
      const widths = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => r[i]!.length)));
      console.log(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n'));
    } finally {
      s.close();
    }
  });
}

async function importObject(opts: ImportOptions, cmd: Command): Promise<void> {
  const given = [opts.cert, opts.key, opts.publicKey, opts.secret].filter((v) => v !== undefined).length;
  if (given !== 1) usageError(cmd, 'give exactly one of --cert, --key, --public-key, --secret');
  if (opts.secret !== undefined && opts.type === undefined) usageError(cmd, '--secret needs --type sha256-hmac or aes');
  if (opts.secret === undefined && opts.type !== undefined) usageError(cmd, '--type goes with --secret');
  if (opts.extractable === true && opts.key === undefined) usageError(cmd, '--extractable goes with --key (private keys)');
  checkLabel(opts.label, cmd);
  const id = parseId(opts.id, cmd);
  const common = { label: opts.label, ...(id === undefined ? {} : { id }) };
  await withToken(opts, (store, token) => {
    if (opts.key !== undefined || opts.secret !== undefined) warnPlaintext(store);
    const { s } = session(token, opts, true, 'token import');
    try {
      const created: { handle: number; class: ObjectClassName }[] = [];
      if (opts.cert !== undefined) {
        const der = readCertificateFile(opts.cert);
        requireFreeLabel(s, opts.label, 'certificate');
        created.push({ handle: s.importCertificate(der, common), class: 'certificate' });
      } else if (opts.key !== undefined) {
        const key = readPrivateKeyFile(opts.key);
        try {
          requireFreeLabel(s, opts.label, 'private-key');
          requireFreeLabel(s, opts.label, 'public-key');
          const priv = key.type === 'ec' ? s.importPrivateKey({ type: 'ec', curve: key.curve, d: key.d }, { ...common, extractable: opts.extractable === true }) : s.importPrivateKey(key, { ...common, extractable: opts.extractable === true });
          created.push({ handle: priv, class: 'private-key' });
          const pub = key.type === 'ec' ? s.importPublicKey({ type: 'ec', curve: key.curve, point: key.point }, common) : s.importPublicKey({ type: 'rsa', n: key.n, e: key.e }, common);
          created.push({ handle: pub, class: 'public-key' });
        } finally {
          if (key.type === 'ec') key.d.fill(0);
          else for (const v of [key.d, key.p, key.q, key.dp, key.dq, key.qi]) v.fill(0);
        }
      } else if (opts.publicKey !== undefined) {
        const key = readPublicKeyFile(opts.publicKey);
        requireFreeLabel(s, opts.label, 'public-key');
        created.push({ handle: s.importPublicKey(key, common), class: 'public-key' });
      } else {
        const value = readBinaryFile(opts.secret!, 'secret key file');
        try {
          requireFreeLabel(s, opts.label, 'secret-key');
          created.push({ handle: s.importSecretKey(opts.type === 'aes' ? 'AES' : 'SHA256-HMAC', value, common), class: 'secret-key' });
        } finally {
          value.fill(0);
        }
      }
      print(opts, { label: opts.label, id: toHex(id ?? new Uint8Array(0)), objects: created }, created.map((c) => `Imported ${c.class} "${opts.label}": handle ${c.handle}`).join('\n'));
    } finally {
      s.close();
    }
  });
}

async function keygen(opts: KeygenOptions, cmd: Command): Promise<void> {
  checkLabel(opts.label, cmd);
  const id = parseId(opts.id, cmd);
  const [family, size] = opts.type.split(':') as ['ec' | 'rsa', string];
  await withToken(opts, (store, token) => {
    warnPlaintext(store);
    const { s } = session(token, opts, true, 'token keygen');
    try {
      requireFreeLabel(s, opts.label, 'private-key');
      requireFreeLabel(s, publicLabelFor(opts.label), 'public-key');
      const spec = family === 'ec' ? { type: 'ec' as const, curve: size as TokenCurve } : { type: 'rsa' as const, bits: Number(size) };
      const { publicKey, privateKey } = s.generateKeyPair(spec, { label: opts.label, ...(id === undefined ? {} : { id }) });
      const { spki, point } = publicSpki(s, publicKey);
      const pem = spkiPem(spki);
      if (opts.publicOut !== undefined) writeOutput(opts.publicOut, pem);
      const result = {
        label: opts.label,
        publicLabel: publicLabelFor(opts.label),
        id: toHex(id ?? new Uint8Array(0)),
        type: opts.type,
        privateKey,
        publicKey,
        ...(point === undefined ? {} : { ecPoint: toHex(point) }),
        spkiSha256: fingerprint(spki),
        ...(opts.publicOut === undefined ? {} : { publicOut: opts.publicOut }),
      };
      print(
        opts,
        result,
        [
          `Generated ${opts.type} key pair "${opts.label}": private key handle ${privateKey}, public key handle ${publicKey}${result.publicLabel === opts.label ? '' : ` ("${result.publicLabel}")`}`,
          ...(point === undefined ? [] : [`EC point    ${toHex(point)}`]),
          `SPKI SHA-256 ${result.spkiSha256}`,
          ...(opts.publicOut === undefined ? [] : [`Public key written to ${opts.publicOut}`]),
        ].join('\n'),
      );
    } finally {
      s.close();
    }
  });
}

/** The bytes the mechanism takes from the input file: hashed (and for RSA-PKCS wrapped) with --hash. */
function signInput(opts: SignOptions, cmd: Command): Uint8Array {
  const alg = opts.mechanism;
  if (opts.hash !== undefined && alg !== 'ECDSA' && alg !== 'RSA-PKCS') usageError(cmd, `--hash goes with ECDSA and RSA-PKCS; ${alg} hashes the input itself`);
  if (opts.format === 'der' && !isEcdsa(alg)) usageError(cmd, '--format der is for ECDSA signatures');
  const data = readBinaryFile(opts.in, 'input file');
  if (opts.hash === undefined) {
    if (alg === 'ECDSA' && data.length > 64) refuse(`ECDSA signs a digest and "${opts.in}" is ${data.length} bytes: give --hash sha256 to hash it first`);
    return data;
  }
  const digest = new Uint8Array(crypto.createHash(opts.hash).update(data).digest());
  return alg === 'ECDSA' ? digest : digestInfo(opts.hash, digest);
}

function ecdsaFromDer(der: Uint8Array, curve: TokenCurve, file: string): Uint8Array {
  try {
    return ecdsaDerToRaw(der, TOKEN_CURVE_BYTES[curve]);
  } catch (e) {
    return refuse(`"${file}" is not a DER ECDSA signature on ${curve}: ${(e as Error).message}`);
  }
}

async function sign(opts: SignOptions, cmd: Command): Promise<void> {
  const data = signInput(opts, cmd);
  await withToken(opts, (_store, token) => {
    const { s } = session(token, opts, false, 'token sign');
    try {
      const key = s.findOne(opts.key, SECRET_KEY_ALGORITHMS.has(opts.mechanism) ? 'secret-key' : 'private-key');
      const raw = s.sign(key, opts.mechanism, data);
      const sig = opts.format === 'der' ? ecdsaRawToDer(raw) : raw;
      writeOutput(opts.out, sig);
      print(
        opts,
        { key: opts.key, handle: key, mechanism: opts.mechanism, format: isEcdsa(opts.mechanism) ? opts.format : 'raw', out: opts.out, length: sig.length },
        `Signed ${opts.in} with "${opts.key}" (${opts.mechanism}${opts.hash === undefined ? '' : `, ${opts.hash} first`}): ${sig.length}-byte ${isEcdsa(opts.mechanism) ? (opts.format === 'der' ? 'DER ' : 'r‖s ') : ''}signature in ${opts.out}`,
      );
    } finally {
      s.close();
    }
  });
}

/** The verifying key: a public key labelled `label`, else the public key of the private key labelled so (same id). */
function verifyKey(s: TokenSession, label: string, mechanism: SignAlgorithm): number {
  if (SECRET_KEY_ALGORITHMS.has(mechanism)) return s.findOne(label, 'secret-key');
  const pub = s.find({ label: publicLabelFor(label), class: 'public-key' });
  if (pub.length === 1) return pub[0]!;
  if (pub.length > 1) refuse(`${pub.length} public keys are labelled "${label}": give a unique label`);
  const priv = s.find({ label, class: 'private-key' });
  if (priv.length === 1) {
    const id = s.attributes(priv[0]!, [CKA.CKA_ID]).get(CKA.CKA_ID);
    if (id !== undefined && id.length > 0) {
      const byId = s.find({ id, class: 'public-key' });
      if (byId.length === 1) return byId[0]!;
    }
    return refuse(`"${label}" is a private key and no single public key has its label or id: import its public key (import --public-key)`);
  }
  return s.findOne(label, 'public-key');
}

async function verify(opts: SignOptions & { signature: string }, cmd: Command): Promise<void> {
  const data = signInput(opts, cmd);
  const sigFile = readBinaryFile(opts.signature, 'signature file');
  const ok = await withToken(opts, (_store, token) => {
    const { s } = session(token, opts, false, null);
    try {
      const key = verifyKey(s, opts.key, opts.mechanism);
      let sig = sigFile;
      if (opts.format === 'der') {
        const curve = s.describe(key).curve;
        if (curve === undefined) refuse(`"${opts.key}" is not an EC key: --format der is for ECDSA`);
        sig = ecdsaFromDer(sigFile, curve!, opts.signature);
      }
      const valid = s.verify(key, opts.mechanism, data, sig);
      const curve = isEcdsa(opts.mechanism) ? s.describe(key).curve : undefined;
      if (!valid && opts.format === 'raw' && curve !== undefined && sig.length !== 2 * TOKEN_CURVE_BYTES[curve] && sig[0] === DER_TAG.SEQUENCE) {
        console.error(`nvsec: note: "${opts.signature}" looks like a DER signature (as openssl makes them): add --format der`);
      }
      return valid;
    } finally {
      s.close();
    }
  });
  if (opts.json === true) console.log(JSON.stringify({ valid: ok, key: opts.key, mechanism: opts.mechanism }));
  else console.log(ok ? 'Signature OK' : 'Signature invalid');
  if (!ok) process.exitCode = EXIT.FAILURE;
}

async function deleteObjects(opts: DeleteOptions, cmd: Command): Promise<void> {
  if ((opts.label === undefined) === (opts.handle === undefined)) usageError(cmd, 'give --label or --handle (one of them)');
  if (opts.handle !== undefined && (opts.class !== undefined || opts.all === true)) usageError(cmd, '--class and --all go with --label');
  const handle = opts.handle === undefined ? undefined : positiveInt(opts.handle, '--handle');
  await withToken(opts, (_store, token) => {
    const { s } = session(token, opts, true, null);
    try {
      let targets: ObjectSummary[];
      if (handle !== undefined) targets = [s.describe(handle)];
      else {
        targets = s.list({ label: opts.label!, ...(opts.class === undefined ? {} : { class: opts.class }) });
        if (targets.length === 0) throw new NvsecError('TOKEN_NOT_FOUND', `No ${opts.class ?? 'object'} labelled "${opts.label}" is visible${readPin(opts, USER_PIN) === null ? ' (log in with --pin to see private objects)' : ''}`);
        if (targets.length > 1 && opts.all !== true) {
          refuse(`${targets.length} objects are labelled "${opts.label}" (${targets.map((t) => `${t.handle} ${t.class}`).join(', ')}): add --class, use --handle, or --all to delete them all`);
        }
      }
      for (const t of targets) s.destroy(t.handle);
      print(opts, { deleted: targets.map((t) => ({ handle: t.handle, class: t.class, label: t.label })) }, targets.map((t) => `Deleted ${t.class} "${t.label}" (handle ${t.handle})`).join('\n'));
    } finally {
      s.close();
    }
  });
}

async function changePin(opts: StoreOptions & { so?: boolean; newPin?: string; newPinFile?: string; pinIterations?: number }): Promise<void> {
  const so = opts.so === true;
  const old = requirePin(opts, so ? SO_PIN : USER_PIN, so ? 'token change-pin --so' : 'token change-pin');
  const fresh = requirePin(opts, NEW_PIN, 'token change-pin');
  await withToken(
    opts,
    (_store, token) => {
      requireInitialized(token, opts);
      const s = TokenSession.open(token, { readWrite: true });
      try {
        if (so) s.login(old, 'so');
        s.setPin(old, fresh);
      } finally {
        s.close();
      }
      print(opts, { changed: so ? 'so' : 'user' }, `${so ? 'SO' : 'User'} PIN changed`);
    },
    opts.pinIterations === undefined ? {} : { pinIterations: opts.pinIterations },
  );
}


/** `token serve`: the p11-kit RPC server over the store, until SIGINT/SIGTERM. */
async function serve(opts: StoreOptions & { socket: string; pinIterations?: number }): Promise<void> {
  const store = await openTokenStore(opts.store, {
    ...(opts.nvsKeys === undefined ? {} : { nvsKeys: opts.nvsKeys }),
    ...(opts.pinIterations === undefined ? {} : { pinIterations: opts.pinIterations }),
    create: !opts.store.startsWith(NVS_STORE_PREFIX),
  });
  try {
    for (const note of store.p11.token.notes) process.stderr.write(`nvsec: warning: ${note}\n`);
    const server = await serveP11Kit(store.p11.token, { socket: opts.socket, log: (m) => process.stderr.write(`nvsec: ${m}\n`) });
    print(opts, { address: server.address, pid: process.pid, store: store.description }, `P11_KIT_SERVER_ADDRESS=${server.address}\nP11_KIT_SERVER_PID=${process.pid}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
  } finally {
    store.close();
  }
}
