/** Lowercase hexadecimal of bytes. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of a hexadecimal string; throws naming `what` when malformed. */
export function fromHex(text: string, what = 'hex string'): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(text)) throw new Error(`${what}: not hexadecimal: ${JSON.stringify(text)}`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}
