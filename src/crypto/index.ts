export type { CryptoProvider, HashName } from './provider.js';
