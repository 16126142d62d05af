import type { CryptoProvider } from '../../crypto/provider.js';
import type { SelftestCase } from './case.js';
import { replayNistDrbgFile } from './nist-replay.js';

/** The suite name of the built-in DRBG known-answer tests. */
export const DRBG_KAT_SUITE = 'power-on KAT';

// Known answers from NIST CAVP (CAVS 14.3) and NIST's CTR_DRBG_withDF examples, as shipped in
// Mbed TLS's test suites (copied from ../shared/vectors/entropy/*_nist.json, same fields).
const CTR_CASES: readonly object[] = [
  {
    name: 'CTR_DRBG_withDF.pdf: AES-256, PR=no, perso=no, add=yes',
    key_bits: 256,
    flow: 'instantiate,generate,generate',
    prediction_resistance: false,
    entropy_input: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f',
    nonce: '202122232425262728292a2b2c2d2e2f',
    personalization: '',
    reseed: null,
    entropy_input_pr: [],
    additional_input: ['606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f', 'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf'],
    returned_bits: '81daaf9800c34ff0a104e51d87e36f5b17eb14b9abc5064cadda976ec4f77d34',
  },
  {
    name: 'CTR_DRBG NIST Validation (AES-256 use df,True,256,128,256,256) #7',
    key_bits: 256,
    flow: 'instantiate,generate,generate',
    prediction_resistance: true,
    entropy_input: 'bfb0931b05a3fe232614e1b1c3060b3b07fb75d23ac10190a47a7245a6ecad5f',
    nonce: 'bd14779153ed9696d3e5143c50b2050b',
    personalization: '6acd3ea2f8b670ef0e5f4bedf01705727bf9e64ae859214abe6ef497163f0236',
    reseed: null,
    entropy_input_pr: ['3834e6727b75acc37e9d512d01a4a9cef6cb17eb97e4d1d7c1df572296972f04', '37a89c19894f721cbe085cf3b89767291a82b999bf3925357d860f181a3681ce'],
    additional_input: ['0b5dc1cdfc40cfdc225798da773411dc9a8779316ceb18d1e8f13809466c6366', '843eb7297570e536b5760c3158adb27c0c426c77d798c08314f53b59aa72d08b'],
    returned_bits: '1e703f3122455a40536c39f9ea3ceaa6',
  },
  {
    name: 'CTR_DRBG NIST Validation (AES-256 use df,False,256,128,256,256) #7 [#1]',
    key_bits: 256,
    flow: 'instantiate,generate,reseed,generate',
    prediction_resistance: false,
    entropy_input: '8e60115b4af9c8e5606223792539e9ba87e9ef46cd16fcc09046db1ef8d3c036',
    nonce: 'c8dbc3d39beb612811c52e2b46ef76d2',
    personalization: 'b7bd5d3a90ceddf9fb864fe6f44e36687d88158d61014e192f9a3cd474338e13',
    reseed: {'entropy_input': '241cae5d61141711818e9e861dbd833632069ebf5af1bd6d4e513f059ab1efd3', 'additional_input': '62c47ece469a7a409e4b2b76d1c793aaf11654e177cc8bf63faff3e6c5a5395c'},
    entropy_input_pr: [],
    additional_input: ['9b56eba0838457f736fc5efa2cfbe698908340f07d4680e279d21dd530fdc8c8', '4251597013d0c949c53bbd945477b78aa91baa95f1ff757c3a039ccc4e1f4789'],
    returned_bits: 'af2f37160940f0cc27d144a043ddf79b',
  },
  {
    name: 'CTR_DRBG CAVS 14.3 (AES-128 use df,no reseed,128,64,0,128) block 1 #0',
    key_bits: 128,
    flow: 'instantiate,generate,generate',
    prediction_resistance: false,
    entropy_input: 'b408cefb5bc7157d3f26cb95a8b1d7ac',
    nonce: '026c768fd577b92a',
    personalization: '',
    reseed: null,
    entropy_input_pr: [],
    additional_input: ['5737ef81dee365b6dadb3feebf5d1084', '3368a516b3431a3daaa60dc8743c8297'],
    returned_bits: '4e909ebb24147a0004063a5e47ee044fead610d62324bd0f963f756fb91361e8b87e3a76a398143fe88130fe1b547b661a6480c711b739f18a9df3ae51d41bc9',
  },
  {
    name: 'CTR_DRBG CAVS 14.3 (AES-128 use df,True,128,64,0,0) #0',
    key_bits: 128,
    flow: 'instantiate,generate,generate',
    prediction_resistance: true,
    entropy_input: '5d4041942bcf68864a4997d8171f1f9f',
    nonce: 'd4f1f4ae08bcb3e1',
    personalization: '',
    reseed: null,
    entropy_input_pr: ['ef55a769b7eaf03fe082029bb32a2b9d', '8239e865c0a42e14b964b9c09de85a20'],
    additional_input: ['', ''],
    returned_bits: '4155320287eedcf7d484c2c2a1e2eb64b9c9ce77c87202a1ae1616c7a5cfd1c687c7a0bfcc85bda48fdd4629fd330c22d0a76076f88fc7cd04037ee06b7af602',
  },
];

const HMAC_CASES: readonly object[] = [
  {
    name: 'HMAC_DRBG NIST CAVS 14.3 PR True (SHA-1, 128, 128) #0',
    hash: 'SHA-1',
    flow: 'instantiate,generate,generate',
    prediction_resistance: true,
    entropy_input: '680face90d7bca21d4a0edb7799ee5d8',
    nonce: 'b7be9eeddd0e3b4b',
    personalization: 'f58c40ae70f7a55648a931a0a9313dd7',
    reseed: null,
    entropy_input_pr: ['7cafe231630aa95a742c4e5f5f22c6a4', '1c0d7792898827948a589f822d1af7a6'],
    additional_input: ['dc3663f062789cd15cbb20c3c18cd9d7', 'fe85b0ab14c696e69c24e7b5a137120c'],
    returned_bits: '68004b3a28f7f01cf9e9b5712079ef80871b08b9a91bcd2b9f094da48480b34cafd5596b0c0a48e148dabc6f77b8ffaf187028e104137a4feb1c72b0c44fe8b1afaba5bcfd8667f2f55b4606632e3cbc',
  },
  {
    name: 'HMAC_DRBG NIST CAVS 14.3 PR False (SHA-1, 128, 128) #0',
    hash: 'SHA-1',
    flow: 'instantiate,reseed,generate,generate',
    prediction_resistance: false,
    entropy_input: '03e7b41c95818eb0b667bfa8a175a824',
    nonce: '66a1e417a9b6b92f',
    personalization: '126dded5eb0bc81be37c10bcd9d5f793',
    reseed: {'entropy_input': 'd17e98c2e50ee0db00d25c3364451e95', 'additional_input': 'dc596d188e2343802240bc7f5cc60516'},
    entropy_input_pr: [],
    additional_input: ['14c8ec10f5bdde6b9e75898d7f9f03d0', '31aa842afcc1daa94098241a87d6ddfc'],
    returned_bits: '4739b1bcf87404a2290829bd7a61f0b391a794c71c055c7cc513b28dcb5fdc88645bc9cb490f41fab134c6b33ce9336571762754343961de671b02a47960b4b4e23c5bfb87dcc19b260b3bcb921ae325',
  },
  {
    name: 'HMAC_DRBG NIST CAVS 14.3 PR True (SHA-224, 192, 192) #0',
    hash: 'SHA-224',
    flow: 'instantiate,generate,generate',
    prediction_resistance: true,
    entropy_input: 'c3005cdc5c5b7b25ed78c9684f3faf6278f9a9c5a9fb2020',
    nonce: '14a29882e50b21e56ec8b794',
    personalization: 'c4506109937e0f9352fc881b0396b0a103626a15addfe525',
    reseed: null,
    entropy_input_pr: ['7fe871daec2626f32372123f44a8721ff4339e0a20f978ea', '27609eb495c2342e9ba719bbd2b44ff503db2322ada1c982'],
    additional_input: ['6ee49c76d138eaa3fc10cf411e0b8ad5488d77f74faacf13', '8825122b506dd6f3a58811fe6c9a7e9271a6e68dcdd590e2'],
    returned_bits: 'e818887ca1c84717e277baf00913d65ed58a8f90b8728080a03043bb2ab53f55fa605ba0cfab29b4cb694f6aae6594dedcbe6f74e1f7573c2944f3703b89a52789b0170077ea8e66d8299ba5cc139943ab96254065a27abca2098a85162fb01d294d8671b00206b7f784319384e01b3d',
  },
  {
    name: 'HMAC_DRBG NIST CAVS 14.3 PR False (SHA-224, 192, 192) #0',
    hash: 'SHA-224',
    flow: 'instantiate,reseed,generate,generate',
    prediction_resistance: false,
    entropy_input: '96ae702af50c50c7c38818a5133938bd7ce51197fc78e218',
    nonce: '15b6c5a7ff9c0395d764159f',
    personalization: 'e96554644097e9932585b7f4bb14d101f24c8b0376f38c05',
    reseed: {'entropy_input': '707d5813e5bf47c1b8232b44a007bf7decfef499d758ed53', 'additional_input': '3f698a5f6f4fe67ef2ddf23bd5a67c1a2df4f3b19425fb85'},
    entropy_input_pr: [],
    additional_input: ['fe1f6a90fc0ed396bca21c0d40a1bb583eb63df78c98adac', '5942b56148f27dd5388f00caa47ffd4925e854237fe14454'],
    returned_bits: '150b9260ce9aa419fe1860332ae7c9f42d9ada1649679b53f46bc9d20de3431186a54afb5df7b6269cdc05540a93fdd50a2cd3a862372d862841768df02846b057993dd6aa32f874b7220a5a1fd9cb573d720a54af5715cedfc16f0d9a467735e253b2b1a6e97421fcee1f2d670dec1a',
  },
  {
    name: 'HMAC_DRBG NIST CAVS 14.3 PR True (SHA-256, 256, 256) #0',
    hash: 'SHA-256',
    flow: 'instantiate,generate,generate',
    prediction_resistance: true,
    entropy_input: '4294671d493dc085b5184607d7de2ff2b6aceb734a1b026f6cfee7c5a90f03da',
    nonce: 'd071544e599235d5eb38b64b551d2a6e',
    personalization: '63bc769ae1d95a98bde870e4db7776297041d37c8a5c688d4e024b78d83f4d78',
    reseed: null,
    entropy_input_pr: ['db9b4790b62336fbb9a684b82947065393eeef8f57bd2477141ad17e776dac34', '4a9abe80f6f522f29878bedf8245b27940a76471006fb4a4110beb4decb6c341'],
    additional_input: ['28848becd3f47696f124f4b14853a456156f69be583a7d4682cff8d44b39e1d3', '8bfce0b7132661c3cd78175d83926f643e36f7608eec2c5dac3ddcbacc8c2182'],
    returned_bits: 'e580dc969194b2b18a97478aef9d1a72390aff14562747bf080d741527a6655ce7fc135325b457483a9f9c70f91165a811cf4524b50d51199a0df3bd60d12abac27d0bf6618e6b114e05420352e23f3603dfe8a225dc19b3d1fff1dc245dc6b1df24c741744bec3f9437dbbf222df84881a457a589e7815ef132f686b760f012',
  },
  {
    name: 'HMAC_DRBG NIST CAVS 14.3 PR False (SHA-256, 256, 256) #0',
    hash: 'SHA-256',
    flow: 'instantiate,reseed,generate,generate',
    prediction_resistance: false,
    entropy_input: 'cdb0d9117cc6dbc9ef9dcb06a97579841d72dc18b2d46a1cb61e314012bdf416',
    nonce: 'd0c0d01d156016d0eb6b7e9c7c3c8da8',
    personalization: '6f0fb9eab3f9ea7ab0a719bfa879bf0aaed683307fda0c6d73ce018b6e34faaa',
    reseed: {'entropy_input': '8ec6f7d5a8e2e88f43986f70b86e050d07c84b931bcf18e601c5a3eee3064c82', 'additional_input': '1ab4ca9014fa98a55938316de8ba5a68c629b0741bdd058c4d70c91cda5099b3'},
    entropy_input_pr: [],
    additional_input: ['16e2d0721b58d839a122852abd3bf2c942a31c84d82fca74211871880d7162ff', '53686f042a7b087d5d2eca0d2a96de131f275ed7151189f7ca52deaa78b79fb2'],
    returned_bits: 'dda04a2ca7b8147af1548f5d086591ca4fd951a345ce52b3cd49d47e84aa31a183e31fbc42a1ff1d95afec7143c8008c97bc2a9c091df0a763848391f68cb4a366ad89857ac725a53b303ddea767be8dc5f605b1b95f6d24c9f06be65a973a089320b3cc42569dcfd4b92b62a993785b0301b3fc452445656fce22664827b88f',
  },
  {
    name: 'HMAC_DRBG NIST CAVS 14.3 PR True (SHA-384, 256, 256) #0',
    hash: 'SHA-384',
    flow: 'instantiate,generate,generate',
    prediction_resistance: true,
    entropy_input: '8b285ce6b4da70c83fd72aab1b4be62101bf9b29e168726ea2f670aab0deaefc',
    nonce: '5da3404c494c6019ea33679e37cec308',
    personalization: '723c0f287db4af285c195cebb1104a106f22e8b243fdcd0566228ab5f227a9e3',
    reseed: null,
    entropy_input_pr: ['dab13e0cb060f66c1c83fc6fba46477d1a3c802edd7594db0b297dedb9ccbc80', '0c817f05658fb9b4c99938ae2140160c4a16d548634a353bc285cb38d0e93243'],
    additional_input: ['881a1874c800db068b5913d195058d0726458de3782ff530af1a761f9628547f', '0c27cf271bd7931d187ec6f56038519674468fa2e7e6f994904c9f1afa346939'],
    returned_bits: '51e042dd56a193908c9018c25f1c1a8b5e2734b055c3b7fde6a8ba9ec2b959349df29295abb0a24b4715f98d31de0a369e6262c2b2cd49c5462b7ae284e921f5ad2ec013edc1611343c228683f4170f34a75854b1b656d226e294172d488c10a415f09dee70984b9c49e8d36863192301d1762145e0d9e94e99bd30ce8490438ed050f418cf4ba0b07fe90a82d1ccf38578d99edf0518c4a758a199db4d3533c4dbc55b1da19840b8f365a574aa01647819032dc0ad641388c2093ebd4ab5d99',
  },
  {
    name: 'HMAC_DRBG NIST CAVS 14.3 PR False (SHA-384, 256, 256) #0',
    hash: 'SHA-384',
    flow: 'instantiate,reseed,generate,generate',
    prediction_resistance: false,
    entropy_input: 'c4868db5c46fde0a10008838b5be62c349209fded42fab461b01e11723c8242a',
    nonce: '618faba54acba1e0afd4b27cbd731ed9',
    personalization: '135132cf2b8a57554bdc13c68e90dc434353e4f65a4d5ca07c3e0a13c62e7265',
    reseed: {'entropy_input': 'd30016b5827dc2bfe4034c6654d69775fe98432b19e3da373213d939d391f54a', 'additional_input': 'a0bbd02f6aa71a06d1642ca2cc7cdc5e8857e431b176bcf1ecd20f041467bd2d'},
    entropy_input_pr: [],
    additional_input: ['93ee30a9e7a0e244aa91da62f2215c7233bdfc415740d2770780cbbad61b9ba2', '36d922cacca00ae89db8f0c1cae5a47d2de8e61ae09357ca431c28a07907fce1'],
    returned_bits: '2aac4cebed080c68ef0dcff348506eca568180f7370c020deda1a4c9050ce94d4db90fd827165846d6dd6cb2031eec1634b0e7f3e0e89504e34d248e23a8fb31cd32ff39a486946b2940f54c968f96cfc508cd871c84e68458ca7dccabc6dcfb1e9fbef9a47caae14c5239c28686e0fc0942b0c847c9d8d987970c1c5f5f06eaa8385575dacb1e925c0ed85e13edbb9922083f9bbbb79405411ff5dfe70615685df1f1e49867d0b6ed69afe8ac5e76ffab6ff3d71b4dae998faf8c7d5bc6ae4d',
  },
  {
    name: 'HMAC_DRBG NIST CAVS 14.3 PR True (SHA-512, 256, 256) #0',
    hash: 'SHA-512',
    flow: 'instantiate,generate,generate',
    prediction_resistance: true,
    entropy_input: '3aca6b55561521007c9ece085e9a6635e346fa804335d6ad42ebd6814c017fa8',
    nonce: 'aa7fd3c3dd5d03d9b8efc7f70574581f',
    personalization: '4bc9a485ec840d377ae4504aa1df41e444c4231687f3d7851c26c275bc687463',
    reseed: null,
    entropy_input_pr: ['4cc19fae5a456f8a53a656d23a0b665d6ddf7f43020a5febbb552714e447565d', '637386b3ab33f78fd9751c7b7e67e1e15f6e50ddc548a1eb5813f6d0d48381bf'],
    additional_input: ['b39c43539fdc24343085cbb65b8d36c54732476d781104c355c391a951313a30', 'b6850edd4622675ef5a507eab911e249d63fcf62f330cc8a16bb2ccc5858de5d'],
    returned_bits: '546664042bef33064da28a5718f2c2e5f72d7725e3fbe87ad2ee90fbfe6c114ed36440fbbccf29698b4360bc4ad74650de13825838106adc53002bc389ee900691649b972f3187b84d05cecc8fd034497dd99c6c997d1914b4ef838d84abf23fae7f3ac9efdcdc04c003ac642c5126b00f9f24bf1431a4f19ef0b5f3d230aab3fdf091ba31b7ddcacdf2566f2cfab30f55b3123e733829b697b7c8b248420ab98ba6f11b017175256368e8d8361102c9e6d57386becbeabda092dd57aec65bc20ebee78eea7294571e168c454066d256b81bb8b7bb469207a18ebedbb4348fbe97a4d86d2bd095c41f6de59aa0800e131e98181886a2633cdcc550914d83b327',
  },
  {
    name: 'HMAC_DRBG NIST CAVS 14.3 PR False (SHA-512, 256, 256) #0',
    hash: 'SHA-512',
    flow: 'instantiate,reseed,generate,generate',
    prediction_resistance: false,
    entropy_input: 'da740cbc36057a8e282ae717fe7dfbb245e9e5d49908a0119c5dbcf0a1f2d5ab',
    nonce: '46561ff612217ba3ff91baa06d4b5440',
    personalization: 'fc227293523ecb5b1e28c87863626627d958acc558a672b148ce19e2abd2dde4',
    reseed: {'entropy_input': '1d61d4d8a41c3254b92104fd555adae0569d1835bb52657ec7fbba0fe03579c5', 'additional_input': 'b9ed8e35ad018a375b61189c8d365b00507cb1b4510d21cac212356b5bbaa8b2'},
    entropy_input_pr: [],
    additional_input: ['b7998998eaf9e5d34e64ff7f03de765b31f407899d20535573e670c1b402c26a', '2089d49d63e0c4df58879d0cb1ba998e5b3d1a7786b785e7cf13ca5ea5e33cfd'],
    returned_bits: '5b70f3e4da95264233efbab155b828d4e231b67cc92757feca407cc9615a660871cb07ad1a2e9a99412feda8ee34dc9c57fa08d3f8225b30d29887d20907d12330fffd14d1697ba0756d37491b0a8814106e46c8677d49d9157109c402ad0c247a2f50cd5d99e538c850b906937a05dbb8888d984bc77f6ca00b0e3bc97b16d6d25814a54aa12143afddd8b2263690565d545f4137e593bb3ca88a37b0aadf79726b95c61906257e6dc47acd5b6b7e4b534243b13c16ad5a0a1163c0099fce43f428cd27c3e6463cf5e9a9621f4b3d0b3d4654316f4707675df39278d5783823049477dcce8c57fdbd576711c91301e9bd6bb0d3e72dc46d480ed8f61fd63811',
  },
];

/**
 * The built-in power-on self test of both DRBGs: a few NIST CAVP known-answer cases per variant
 * (CTR_DRBG AES-256 and AES-128, HMAC_DRBG with each of SHA-1/224/256/384/512), embedded so that
 * `nvsec selftest` needs no files. They cover the derivation function, personalization,
 * additional input, explicit reseeds and prediction resistance; each runs exactly as in
 * {@link replayNistDrbgFile}.
 *
 * @example
 * const failed = drbgKnownAnswerTests(nodeCrypto).filter((c) => !c.passed);
 * if (failed.length > 0) throw new Error(`DRBG self test failed: ${failed.map((c) => c.name).join(', ')}`);
 */
export function drbgKnownAnswerTests(crypto: CryptoProvider): SelftestCase[] {
  const run = (family: 'CTR_DRBG' | 'HMAC_DRBG', cases: readonly object[], variant: (c: Record<string, unknown>) => string): SelftestCase[] =>
    replayNistDrbgFile({ family, cases }, crypto).map((r, i) => {
      const c = cases[i] as Record<string, unknown>;
      return { ...r, suite: DRBG_KAT_SUITE, name: `${variant(c)}: ${r.name}` };
    });
  return [
    ...run('CTR_DRBG', CTR_CASES, (c) => `CTR_DRBG AES-${String(c.key_bits)}`),
    ...run('HMAC_DRBG', HMAC_CASES, (c) => `HMAC_DRBG ${String(c.hash)}`),
  ];
}
