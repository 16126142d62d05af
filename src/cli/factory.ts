import type { Command } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import { FACTORY_FILES, FACTORY_PASSPHRASE_ENV, initFactory, type InitFactoryOptions } from '../node/factory.js';
import { readBinaryFile } from './_files.js';
import { readPin } from './_token-input.js';
import { runAction, usageError } from './_run.js';

interface InitOptions {
  dir: string;
  passphraseFile?: string;
  organization?: string;
  idPrefix?: string;
  app?: string;
  signingKey?: string;
  pinIterations?: string;
  userPinFile?: string;
  validityDays?: string;
  json?: boolean;
}

/**
 * The factory passphrase (encrypts the CA and code-signing keys): `--passphrase-file` (its first
 * line) or $NVSEC_FACTORY_PASSPHRASE. Never an option value: it would show in `ps` and shell history.
 *
 * @throws {NvsecError} FACTORY_NO_PASSPHRASE when neither is given
 */
export function factoryPassphrase(opts: { passphraseFile?: string }): string {
  const passphrase = readPin({ passphraseFile: opts.passphraseFile }, { option: 'passphrase', env: FACTORY_PASSPHRASE_ENV });
  if (passphrase === null) {
    throw new NvsecError('FACTORY_NO_PASSPHRASE', `The factory passphrase is needed: set ${FACTORY_PASSPHRASE_ENV} or pass --passphrase-file FILE (at least 8 characters; it encrypts the CA and code-signing keys)`);
  }
  return passphrase;
}

/** Errors that reject the user's input (exit 2). */
const rejects = (e: unknown): boolean => e instanceof RangeError || (e instanceof NvsecError && ['FACTORY_EXISTS', 'FACTORY_NO_PASSPHRASE', 'CLI_FILE_READ', 'KEY_UNSUPPORTED', 'KEY_UNREADABLE'].includes(e.code));

/** `nvsec factory init`: the factory's CAs, code-signing key, signed app and partition table. */
export function registerFactoryCommands(program: Command): void {
  const group = program.command('factory').description('A factory: its CAs, code-signing key, signed app and partition table (then `nvsec provision`)');
  group
    .command('init')
    .description('Create a factory folder: root CA, manufacturing (JITP) CA, Secure Boot V2 key, signed app, partition table, factory.json')
    .requiredOption('--dir <dir>', 'the factory folder to create (must not hold a factory)')
    .option('--passphrase-file <file>', `file whose first line encrypts the keys (or ${FACTORY_PASSPHRASE_ENV})`)
    .option('--organization <name>', 'O= of the CA and device certificates', 'nvsec demo')
    .option('--id-prefix <prefix>', 'device ids are PREFIX-<batch>-<n>', 'dev')
    .option('--app <file>', 'an unsigned ESP32-C3 app image to sign (default: a small demo app)')
    .option('--signing-key <file>', 'an existing RSA-3072 Secure Boot V2 key PEM (espsecure generate-signing-key --version 2 --scheme rsa3072)')
    .option('--pin-iterations <n>', 'PBKDF2 iterations of the device PINs (>= 1000)', '1000')
    .option('--user-pin-file <file>', "file whose first line is the firmware's user PIN (default: random)")
    .option('--validity-days <n>', 'device certificate validity', '3650')
    .option('--json', 'print factory.json')
    .addHelpText(
      'after',
      `
What it makes (all in --dir; private keys are encrypted PKCS#8, mode 0600):
  ${FACTORY_FILES.rootCertificate}, ${FACTORY_FILES.rootKey}      the offline root CA (P-384, 20 years): move the key offline
  ${FACTORY_FILES.intermediateCertificate}, ${FACTORY_FILES.intermediateKey}  the manufacturing CA that signs devices (P-256,
      10 years); register ${FACTORY_FILES.intermediateCertificate} with your cloud for just-in-time provisioning
  ${FACTORY_FILES.codeSigningKey}, ${FACTORY_FILES.codeSigningPublicKey}  Secure Boot V2 key (RSA-3072, the C3 ROM's scheme)
  ${FACTORY_FILES.app}, ${FACTORY_FILES.signedApp}                 the app and the app signed with that key
  ${FACTORY_FILES.partitionCsv}, ${FACTORY_FILES.partitionTable}   nvs, encrypted nvs_keys, encrypted factory app (2 MiB)
  ${FACTORY_FILES.manifest}                          what the factory is; provision reads it

Device PINs: corePKCS11 firmware logs in with a PIN compiled into it (configPKCS11_DEFAULT_USER_PIN);
factory.json keeps that user PIN. Each device's SO PIN is random and never stored.

Examples:
  export ${FACTORY_PASSPHRASE_ENV}='a long passphrase'
  nvsec factory init --dir factory --organization Acme --id-prefix acme
  nvsec provision --factory factory --count 100 --out batch1`,
    )
    .action(
      runAction(async (opts: InitOptions, cmd: Command) => {
        const passphrase = factoryPassphrase(opts);
        const int = (v: string | undefined, name: string): number => {
          if (v === undefined || !/^\d{1,9}$/.test(v.trim())) usageError(cmd, `--${name} must be a whole number, got "${v}"`);
          return Number(v);
        };
        const userPin = readPin({ userPinFile: opts.userPinFile }, { option: 'user-pin', env: 'NVSEC_FACTORY_USER_PIN' });
        const options: InitFactoryOptions = {
          passphrase,
          ...(opts.organization === undefined ? {} : { organization: opts.organization }),
          ...(opts.idPrefix === undefined ? {} : { idPrefix: opts.idPrefix }),
          ...(opts.app === undefined ? {} : { app: readBinaryFile(opts.app, 'app image') }),
          ...(opts.signingKey === undefined ? {} : { codeSigningKeyPem: new TextDecoder().decode(readBinaryFile(opts.signingKey, 'signing key')) }),
          ...(userPin === null ? {} : { userPin }),
          pinIterations: int(opts.pinIterations, 'pin-iterations'),
          deviceValidityDays: int(opts.validityDays, 'validity-days'),
        };
        const m = await initFactory(opts.dir, options);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ dir: opts.dir, ...m, token: { ...m.token, userPin: '(in factory.json)' } }, null, 2)}\n`);
          return;
        }
        console.log(`factory ${m.id} created in ${opts.dir}`);
        console.log(`  root CA            ${m.rootCa.subject} (serial ${m.rootCa.serial}, until ${m.rootCa.notAfter.slice(0, 10)})`);
        console.log(`  manufacturing CA   ${m.intermediateCa.subject} (serial ${m.intermediateCa.serial})`);
        console.log(`  JITP certificate   ${m.jitpCertificate} (register it with your cloud)`);
        console.log(`  code signing       RSA-3072, key digest ${m.codeSigning.digest.slice(0, 16)}…`);
        console.log(`  app                ${m.app.signed} (SHA-256 ${m.app.sha256.slice(0, 16)}…)`);
        console.log(`  flash              ${m.chip}, ${m.flash.size / 1048576} MiB, ${m.flash.partitionCsv}`);
        console.log(`next: move ${m.rootCa.key} offline, then \`nvsec provision --factory ${opts.dir} --count N --out DIR\``);
      }, { rejects }),
    );
}
