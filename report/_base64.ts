/**
 * Base64 both ways, with the functions every browser and Deno have.
 *
 * @module
 */

/** `bytes` as base64. */
export function toBase64(bytes: Uint8Array): string {
  let text = "";
  // Chunks keep the argument list of String.fromCharCode within engine limits.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

/** The bytes `base64` encodes. */
export function fromBase64(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}
