// The lab's one base64 module: RFC 4648 §5 base64url without padding for URL fragments (share links), and
// standard padded base64 (§4) for reports' vectors. Uses btoa/atob (present in browsers and Node ≥ 16); no engine
// imports, so the page can use it without pulling in onnxruntime.

/** Standard padded base64 (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  // chunked so String.fromCharCode never gets a huge argument list
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** base64url without padding (RFC 4648 §5), for URL fragments. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * A float32 vector's little-endian bytes in standard padded base64, as reports store vectors — not the URL-safe
 * alphabet: reports are read by other tools, and Python's base64.b64decode silently drops '-' and '_' (it does
 * not reject them), which would corrupt the vector.
 */
export function float32ToBase64(v: Float32Array): string {
  return toBase64(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

/** Decodes standard base64 or base64url (reports carry the first; older ones the second); padding optional. */
export function fromAnyBase64(s: string, field: string): Uint8Array {
  return fromBase64Url(s.replace(/\+/g, '-').replace(/\//g, '_'), field);
}

/** Decodes base64url (padding optional); `field` names the source in error messages. */
export function fromBase64Url(s: string, field: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(s)) {
    const i = s.search(/[^A-Za-z0-9_=-]/);
    throw new Error(`${field}: bad base64url (character ${JSON.stringify(s[i] ?? '=')} at position ${i})`);
  }
  const body = s.replace(/=+$/, '');
  if (body.length % 4 === 1) throw new Error(`${field}: bad base64url (length ${body.length} cannot encode whole bytes)`);
  const b64 = body.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (body.length % 4)) % 4);
  let bin: string;
  try {
    bin = atob(b64);
  } catch (e) {
    throw new Error(`${field}: bad base64url (${(e as Error).message})`);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
