/**
 * DER re-encoding of a parsed `@sigstore/core` ASN.1 tree, byte for byte what
 * `ASN1Obj.prototype.toDER()` returns, in one allocation.
 *
 * `@sigstore/verify` never uses a certificate's original bytes: it verifies signatures over,
 * and compares certificates by, the re-encoding of the parsed tree (`toDER()`). That method
 * builds two `ByteStream`s per node, each growing by zero-filled 1 KiB blocks, so
 * re-encoding one Fulcio certificate allocates a few hundred KiB; a keyless verification
 * does it some twenty times and that was most of its CPU. This function computes the same
 * bytes (tag byte, minimal definite length, then the children's encodings or, for a node
 * without children, its value) with two passes over the tree: sizes, then one write.
 * test/unit/trust/der.test.ts checks it against `toDER()` on real certificates and on
 * arbitrary trees.
 */
import type { ASN1Obj } from '@sigstore/core';

/** Bytes of a definite length field for a content of `len` bytes (X.690 §8.1.3, minimal). */
function lengthOfLength(len: number): number {
  if (len < 128) return 1;
  let n = 1;
  for (let rest = len; rest > 0; rest = Math.floor(rest / 256)) n++;
  return n;
}

/** Content sizes of every node with children, computed once. */
function contentSizes(node: ASN1Obj, sizes: Map<ASN1Obj, number>): number {
  let content = 0;
  if (node.subs.length > 0) {
    for (const sub of node.subs) {
      const inner = contentSizes(sub, sizes);
      content += 1 + lengthOfLength(inner) + inner;
    }
  } else {
    content = node.value.length;
  }
  sizes.set(node, content);
  return content;
}

function write(node: ASN1Obj, sizes: Map<ASN1Obj, number>, out: Buffer, at: number): number {
  const content = sizes.get(node)!;
  out[at++] = node.tag.toDER();
  if (content < 128) {
    out[at++] = content;
  } else {
    const n = lengthOfLength(content) - 1;
    out[at++] = 0x80 | n;
    for (let i = n - 1, rest = content; i >= 0; i--, rest = Math.floor(rest / 256)) out[at + i] = rest % 256;
    at += n;
  }
  if (node.subs.length > 0) {
    for (const sub of node.subs) at = write(sub, sizes, out, at);
  } else {
    out.set(node.value, at);
    at += node.value.length;
  }
  return at;
}

/** The DER encoding of `node`: equal to `node.toDER()`. */
export function encodeDer(node: ASN1Obj): Buffer {
  const sizes = new Map<ASN1Obj, number>();
  const content = contentSizes(node, sizes);
  const out = Buffer.allocUnsafe(1 + lengthOfLength(content) + content);
  const end = write(node, sizes, out, 0);
  /* istanbul ignore if -- the two passes agree by construction */
  if (end !== out.length) throw new Error(`DER encoding size mismatch: wrote ${end} of ${out.length} bytes`);
  return out;
}
