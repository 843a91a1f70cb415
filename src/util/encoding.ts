/**
 * Strict decoders for the encodings that registry-supplied artifacts use. Node's
 * `Buffer.from(s, 'base64')` silently skips invalid characters, which would let a
 * malformed annotation decode to something; these reject it instead.
 */

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Standard base64 with padding; returns undefined when the text is not exactly that. */
/** Bytes backed by a plain ArrayBuffer (what @sigstore/core's parsers take). */
export type Bytes = Buffer<ArrayBuffer>;

export function decodeBase64(text: unknown): Bytes | undefined {
  if (typeof text !== 'string') return undefined;
  const compact = text.replace(/[\r\n]/g, '');
  if (!BASE64_RE.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

export function decodeHex(text: unknown): Bytes | undefined {
  if (typeof text !== 'string' || !HEX_RE.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}

export interface PemBlock {
  readonly type: string;
  readonly der: Bytes;
}

const PEM_BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/g;

/**
 * Decodes every PEM block in the text. Returns undefined when there is no block, when a
 * block's body is not base64, or when anything but white space stands between blocks.
 */
export function decodePem(text: unknown): PemBlock[] | undefined {
  if (typeof text !== 'string') return undefined;
  const blocks: PemBlock[] = [];
  let last = 0;
  for (const m of text.matchAll(PEM_BLOCK_RE)) {
    if (text.slice(last, m.index).trim() !== '') return undefined;
    const der = decodeBase64(m[2]!.replace(/\s+/g, ''));
    if (!der || der.length === 0) return undefined;
    blocks.push({ type: m[1]!, der });
    last = m.index + m[0].length;
  }
  if (blocks.length === 0 || text.slice(last).trim() !== '') return undefined;
  return blocks;
}
