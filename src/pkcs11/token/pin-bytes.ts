const utf8 = new TextEncoder();

/**
 * Runs `use` with the UTF-8 bytes of a PIN given as a string, and wipes them afterwards (the
 * string itself cannot be wiped: JavaScript strings are immutable).
 */
export function withPin<T>(pin: string | undefined, use: (bytes: Uint8Array) => T): T {
  const bytes = utf8.encode(pin ?? '');
  try {
    return use(bytes);
  } finally {
    bytes.fill(0);
  }
}
