import { Command, Option } from 'commander';
import { readSignatureBlocks, type SecureBootTrust, secureBootTrust, signImage, splitSignedImage, verifyAsBootloader, verifyWithKey } from '../boot/secure-boot-v2.js';
import { EMPTY_SLOT, publicKeyDigest, SBV2, SCHEME_FAMILY, SCHEME_NAMES, type SignatureBlock } from '../boot/signature-block.js';
import { toHex } from '../bytes/hex.js';
import type { Signer } from '../crypto/signer.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { loadEfuseFile } from '../node/efuse-file.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { generateSigningKey, readSigningKey, SIGNING_SCHEMES, type SigningKey, type SigningScheme } from '../node/signing-key.js';
import { readBinaryFile } from './_files.js';
import { EXIT, isFileReadError, runAction, usageError } from './_run.js';

/** `--version 2`: espsecure's option; nvsec only implements Secure Boot V2. */
function versionOption(): Option {
  return new Option('-v, --version <n>', 'secure boot version: only 2 (Secure Boot V2) is supported').choices(['2']).makeOptionMandatory();
}

/** Reads a PEM key file; the file's bytes are zeroized once OpenSSL has parsed them. */
function readKeyFile(file: string): SigningKey {
  const pem = readBinaryFile(file, 'key file');
  try {
    return readSigningKey(pem, `"${file}"`);
  } finally {
    pem.fill(0);
  }
}

/** The public half of a key file (a private key's signer is released at once). */
function readPublicKey(file: string): SigningKey {
  const key = readKeyFile(file);
  key.signer?.destroy?.();
  return key;
}

/** Commander collector for a repeatable option. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

const kindOf = (b: SignatureBlock): string => SCHEME_FAMILY[b.scheme!];
const spacedHex = (b: Uint8Array): string => toHex(b).replace(/(..)(?!$)/g, '$1 ');

function blockJson(b: SignatureBlock): Record<string, unknown> {
  return {
    index: b.index,
    valid: b.valid,
    problem: b.problem,
    scheme: b.scheme,
    crc32: { stored: b.crcStored, calculated: b.crcCalculated },
    imageDigest: b.imageDigest && toHex(b.imageDigest),
    keyDigest: b.keyDigest && toHex(b.keyDigest),
  };
}

const SIGN_HELP = `
Signs IN as espsecure sign-data --version 2 does: IN is padded with 0xFF to a multiple of 4096
bytes, its SHA-256 (SHA-384 for ECDSA P-384) is signed with each --keyfile in turn, and a 4096-byte
signature sector with one 1216-byte block per key is appended. Up to 3 keys in all: RSA-3072
(RSA-PSS), ECDSA P-192, P-256 or P-384 private keys in PEM. Each signature is verified before the
output is written (atomically); without --output IN is replaced.

  --append-signatures   IN is already signed: keep its valid blocks and add the new ones after
                        them (the signed data stays the same). An unsigned IN is signed whole.

Which schemes a chip accepts: ESP32 (v3), S2, S3, C3 RSA only; C2 ECDSA only; C5, C6, H2, P4
RSA or ECDSA; P-384 on few (e.g. C5). ESP32 and C2 use only the first block.

Examples:
  $ nvsec secure-boot sign-data --version 2 --keyfile secure_boot_signing_key.pem --output app-signed.bin app.bin
  $ nvsec secure-boot sign-data -v 2 -k key1.pem --append-signatures -o app-2sig.bin app-signed.bin
`;

const VERIFY_HELP = `
Two ways to verify a signed image (data ‖ 4096-byte signature sector):

  --keyfile K           as espsecure verify-signature: a block verifies when its digest matches
                        the data and its signature verifies with K (private or public PEM). Every
                        block is reported; a block of another key type is named as such.
  --trusted-digest F    as the bootloader: F holds a 32-byte eFuse SECURE_BOOT_DIGESTn (from
                        digest-sbv2-public-key); give it up to 3 times for slots 0, 1, 2. A block
                        is accepted when its embedded key's digest is in an unrevoked slot, its
                        digest matches and its signature verifies. --revoked N marks slot N revoked.
  --efuse-file F        as the bootloader of the chip in eFuse file F (see "nvsec efuse"): its
                        burned digests and KEY_REVOKE bits; RSA only on ESP32/C3/S3, and the
                        ESP32 reads only block 0.

Exit status: 0 verified; 2 not verified, or input espsecure would refuse (as espsecure exits);
1 an unexpected failure.

Examples:
  $ nvsec secure-boot verify-signature --version 2 --keyfile secure_boot_signing_key.pem app-signed.bin
  $ nvsec secure-boot verify-signature -v 2 --trusted-digest digest0.bin --trusted-digest digest1.bin \\
      --revoked 0 app-signed.bin
`;

interface SignOpts {
  keyfile: string[];
  appendSignatures?: boolean;
  output?: string;
  json?: boolean;
}
interface VerifyOpts {
  keyfile?: string;
  trustedDigest?: string[];
  revoked?: string[];
  efuseFile?: string;
  json?: boolean;
}

async function signData(input: string, opts: SignOpts, cmd: Command): Promise<void> {
  if (opts.keyfile.length > SBV2.MAX_BLOCKS) usageError(cmd, `at most ${SBV2.MAX_BLOCKS} --keyfile keys (one signature block each), got ${opts.keyfile.length}`);
  const data = readBinaryFile(input, 'input file');
  const signers: Signer[] = [];
  const lines: string[] = [];
  try {
    for (const file of opts.keyfile) {
      const { signer } = readKeyFile(file);
      if (!signer) throw new NvsecError('KEY_NOT_PRIVATE', `"${file}" holds a public key; signing needs the private key`);
      signers.push(signer);
    }
    const r = await signImage(nodeCrypto, data, signers, { appendSignatures: opts.appendSignatures ?? false });
    if (r.paddedBytes > 0) lines.push(`Padding data contents by ${r.paddedBytes} bytes so signature sector aligns at sector boundary.`);
    for (const b of r.keptBlocks) lines.push(`Signature block ${b.index} is valid (${kindOf(b)}).`);
    if (opts.appendSignatures) lines.push(`${r.keptBlocks.length} valid signature block(s) already present in the signature sector.`);
    lines.push(`${signers.length} signing key(s) found.`);
    lines.push(`Signed ${r.signedLength} bytes of data from "${input}". Signature sector now has ${r.blockCount} signature blocks.`);
    const output = opts.output ?? input;
    writeFileAtomic(output, r.image, { mode: 0o644 });
    if (opts.json) {
      const blocks = readSignatureBlocks(nodeCrypto, splitSignedImage(r.image).sector).filter((b) => b.valid);
      console.log(JSON.stringify({ output, signedLength: r.signedLength, paddedBytes: r.paddedBytes, keptBlocks: r.keptBlocks.length, blocks: blocks.map(blockJson) }));
    } else {
      for (const l of lines) console.log(l);
    }
  } finally {
    for (const s of signers) s.destroy?.();
  }
}

async function verifySignature(input: string, opts: VerifyOpts, cmd: Command): Promise<void> {
  const modes = [opts.keyfile, opts.trustedDigest, opts.efuseFile].filter((m) => m !== undefined).length;
  if (modes !== 1) {
    usageError(cmd, 'give one of --keyfile KEY (check with that key), --trusted-digest FILE or --efuse-file FILE (check as the bootloader does)');
  }
  if (opts.revoked !== undefined && opts.trustedDigest === undefined) usageError(cmd, '--revoked goes with --trusted-digest (an eFuse file holds its own revocations)');
  const data = readBinaryFile(input, 'signed image');
  let verified: boolean;
  let lines: string[];
  let failure: string;
  let json: Record<string, unknown>;
  if (opts.keyfile !== undefined) {
    const r = await verifyWithKey(nodeCrypto, data, readPublicKey(opts.keyfile).publicKey);
    lines = r.blocks.flatMap((b) => (b.block.valid ? [`Signature block ${b.block.index} is valid (${kindOf(b.block)}).`, b.message] : [b.message]));
    verified = r.verified;
    json = { verified, verifiedBlock: r.verifiedBlock, blocks: r.blocks.map((b) => ({ ...blockJson(b.block), verdict: b.verdict, message: b.message })) };
    failure = r.blocks.some((b) => b.verdict === 'digest-mismatch')
      ? 'The image was changed after it was signed: its digest no longer matches the signature block.'
      : 'Checked all blocks. Signature could not be verified with the provided key.';
  } else {
    const trust = opts.efuseFile !== undefined ? efuseTrust(opts.efuseFile) : digestTrust(opts, cmd);
    const { region, sector } = splitSignedImage(data);
    const r = await verifyAsBootloader(nodeCrypto, region, sector, trust);
    lines = r.blocks.map((b) => `Signature ${b.message}.`);
    verified = r.accepted;
    if (verified) lines.push(`Image accepted: block ${r.acceptedBlock} with eFuse digest slot ${r.trustedSlot}.`);
    failure = 'Image rejected: no block passes every check; the bootloader would not boot it.';
    json = { verified, acceptedBlock: r.acceptedBlock, trustedSlot: r.trustedSlot, blocks: r.blocks.map((b) => ({ ...blockJson(b.block), verdict: b.verdict, message: b.message })) };
  }
  if (opts.json) console.log(JSON.stringify(json));
  else for (const l of lines) console.log(l);
  if (!verified) {
    if (!opts.json) console.error(`nvsec: error: ${failure}`);
    process.exitCode = EXIT.USAGE; // espsecure's fatal error: exit 2
  }
}

/** Trust from an eFuse file: its digest slots, revocations and chip. */
function efuseTrust(file: string): SecureBootTrust {
  const efuse = loadEfuseFile(file);
  try {
    const trust = secureBootTrust(efuse);
    if (!trust.enabled) console.error(`nvsec: warning: secure boot is not enabled in "${file}": the ROM would boot any image; checked as if it were`);
    return trust;
  } finally {
    efuse.destroy();
  }
}

/** Trust from --trusted-digest files and --revoked slots. */
function digestTrust(opts: VerifyOpts, cmd: Command): SecureBootTrust {
  const digests = (opts.trustedDigest ?? []).map((f) => {
    const d = readBinaryFile(f, 'eFuse digest file');
    if (d.length !== 32) throw new NvsecError('SBV2_BAD_DIGEST_FILE', `"${f}" must hold a 32-byte key digest (from digest-sbv2-public-key), it has ${d.length} bytes`);
    return d;
  });
  if (digests.length > 3) usageError(cmd, `at most 3 --trusted-digest files (eFuse slots 0, 1, 2), got ${digests.length}`);
  const revoked = [false, false, false];
  for (const r of opts.revoked ?? []) {
    if (!/^[012]$/.test(r)) usageError(cmd, `--revoked takes a digest slot 0, 1 or 2, got "${r}"`);
    revoked[Number(r)] = true;
  }
  return { digests, revoked };
}

function signatureInfo(input: string, opts: { json?: boolean }): void {
  const { sector } = splitSignedImage(readBinaryFile(input, 'signed image'));
  const blocks = readSignatureBlocks(nodeCrypto, sector);
  if (opts.json) {
    console.log(JSON.stringify({ blocks: blocks.map(blockJson) }));
    return;
  }
  for (const b of blocks) {
    if (!b.valid) {
      console.log(`Signature block ${b.index} absent/invalid${b.problem === EMPTY_SLOT ? '' : ` (${b.problem})`}. Skipping checking next blocks...`);
      return;
    }
    console.log(`Signature block ${b.index} is valid (${kindOf(b)}).`);
    console.log(`Public key digest for block ${b.index}: ${spacedHex(b.keyDigest!)}`);
  }
}

/**
 * Input espsecure refuses with its fatal error, exit 2: a file it cannot read, a key it cannot use,
 * data that is not a signed image, too many blocks. (A failed verification exits 2 as well.)
 */
const REJECTS = {
  rejects: (e: unknown) =>
    isFileReadError(e) ||
    (e instanceof NvsecError &&
      ['KEY_UNREADABLE', 'KEY_UNSUPPORTED', 'KEY_NOT_PRIVATE', 'KEY_FILE_EXISTS', 'SBV2_KEY_UNSUPPORTED', 'SBV2_BAD_LENGTH', 'SBV2_TOO_MANY_BLOCKS', 'SBV2_APPEND_UNALIGNED', 'SBV2_BAD_DIGEST_FILE'].includes(e.code)),
};

/**
 * Registers `nvsec secure-boot …`: Secure Boot V2 signing keys, signing, verification and key
 * digests, with espsecure's sub-command and option names.
 */
export function registerSecureBootCommands(program: Command): void {
  const sb = program.command('secure-boot').description('Secure Boot V2: signing keys, sign and verify app images, eFuse key digests (espsecure compatible)');

  sb.command('sign-data')
    .alias('sign_data')
    .summary('sign an image with up to 3 keys (Secure Boot V2)')
    .description('Sign a binary with Secure Boot V2 signature blocks, as espsecure sign-data --version 2.')
    .argument('<input>', 'image to sign')
    .addOption(versionOption())
    .requiredOption('-k, --keyfile <pem...>', 'private key(s) in PEM: RSA-3072, ECDSA P-192/P-256/P-384 (up to 3)')
    .option('-a, --append-signatures', 'keep the valid signature blocks already in IN and append the new ones')
    .option('-o, --output <file>', 'signed output (default: replace IN)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', SIGN_HELP)
    .action(runAction((input: string, opts: SignOpts, cmd: Command) => signData(input, opts, cmd), REJECTS));

  sb.command('verify-signature')
    .alias('verify_signature')
    .summary('verify a signed image with a key, or as the bootloader with eFuse digests')
    .description('Verify the Secure Boot V2 signature blocks of a signed image.')
    .argument('<input>', 'signed image (data + 4096-byte signature sector)')
    .addOption(versionOption())
    .option('-k, --keyfile <pem>', 'public or private key in PEM to verify with')
    .option('--trusted-digest <file>', 'eFuse key digest file for the next slot 0..2 (repeat): verify as the bootloader', collect, undefined)
    .option('--efuse-file <file>', 'an eFuse file (nvsec efuse): verify as that chip\'s bootloader, with its digests and revocations')
    .option('--revoked <slot>', 'with --trusted-digest: a digest slot revoked in eFuse, KEY_REVOKEn (repeatable)', collect, undefined)
    .option('--json', 'print every block and the verdict as one JSON object')
    .addHelpText('after', VERIFY_HELP)
    .action(runAction((input: string, opts: VerifyOpts, cmd: Command) => verifySignature(input, opts, cmd), REJECTS));

  sb.command('digest-sbv2-public-key')
    .alias('digest_sbv2_public_key')
    .summary('write the 32-byte eFuse digest of a signing key')
    .description('Write the SHA-256 digest of a Secure Boot V2 public key: the value burned into an eFuse SECURE_BOOT_DIGESTn key block.')
    .requiredOption('-k, --keyfile <pem>', 'public or private key in PEM')
    .requiredOption('-o, --output <file>', 'where to write the 32 bytes')
    .addHelpText('after', '\nExample:\n  $ nvsec secure-boot digest-sbv2-public-key --keyfile secure_boot_signing_key.pem --output digest.bin\n  $ espefuse burn-key BLOCK_KEY0 digest.bin SECURE_BOOT_DIGEST0\n')
    .action(
      runAction((opts: { keyfile: string; output: string }) => {
        const digest = publicKeyDigest(nodeCrypto, readPublicKey(opts.keyfile).publicKey);
        writeFileAtomic(opts.output, digest, { mode: 0o644 });
        console.log(`Writing the public key digest of "${opts.keyfile}" to "${opts.output}".`);
      }, REJECTS),
    );

  sb.command('generate-signing-key')
    .alias('generate_signing_key')
    .summary('generate a Secure Boot V2 signing key (PEM)')
    .description('Generate a Secure Boot V2 private signing key in PEM, as espsecure generate-signing-key --version 2.')
    .argument('<keyfile>', 'where to write the private key (mode 0600, never over an existing file)')
    .addOption(versionOption())
    .addOption(new Option('-s, --scheme <scheme>', 'key type').choices([...SIGNING_SCHEMES]).default('rsa3072'))
    .addHelpText(
      'after',
      '\nThe key comes from OpenSSL\'s generator: RSA-3072 (e = 65537, PKCS#1 PEM) or ECDSA (SEC1 PEM).\nKeep it offline or in an HSM; anyone holding it can sign firmware your devices will run.\n\nExample:\n  $ nvsec secure-boot generate-signing-key --version 2 --scheme ecdsa256 secure_boot_signing_key.pem\n',
    )
    .action(
      runAction((keyfile: string, opts: { scheme: SigningScheme }) => {
        const pem = new TextEncoder().encode(generateSigningKey(opts.scheme));
        try {
          writeFileAtomic(keyfile, pem, { mode: 0o600, exclusive: true });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new NvsecError('KEY_FILE_EXISTS', `Key file "${keyfile}" already exists: nvsec never overwrites a key; pick another name`);
          throw e;
        } finally {
          pem.fill(0);
        }
        console.log(`${SCHEME_NAMES[opts.scheme]} private key in PEM format written to "${keyfile}".`);
      }, REJECTS),
    );

  sb.command('extract-public-key')
    .alias('extract_public_key')
    .summary('write the public key (PEM) of a signing key')
    .description('Write the public key of a signing key as PEM, as espsecure extract-public-key --version 2.')
    .argument('<output>', 'public key file to write')
    .addOption(versionOption())
    .requiredOption('-k, --keyfile <pem>', 'private key in PEM')
    .action(
      runAction((output: string, opts: { keyfile: string }) => {
        writeFileAtomic(output, new TextEncoder().encode(readPublicKey(opts.keyfile).publicKeyPem), { mode: 0o644 });
        console.log(`"${opts.keyfile}" public key extracted to "${output}".`);
      }, REJECTS),
    );

  sb.command('signature-info-v2')
    .alias('signature_info_v2')
    .summary('list the signature blocks of a signed image and their key digests')
    .description('Show the Secure Boot V2 signature blocks of a signed image, as espsecure signature-info-v2.')
    .argument('<input>', 'signed image')
    .option('--json', 'print every block as JSON')
    .action(runAction((input: string, opts: { json?: boolean }) => signatureInfo(input, opts), REJECTS));
}
