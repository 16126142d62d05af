/** @peculiar/x509's module type, for the lazy loader below. */
export type X509 = typeof import('@peculiar/x509');

let x509Module: Promise<X509> | undefined;

/** @peculiar/x509 (and the Reflect polyfill it needs), loaded on first use so importing nvsec runs nothing. */
export function loadX509(): Promise<X509> {
  x509Module ??= import('reflect-metadata').then(() => import('@peculiar/x509'));
  return x509Module;
}
