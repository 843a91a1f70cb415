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
import { ASN1Obj } from '@sigstore/core';

/** Bytes of a definite length field for a content of `len` bytes (X.690 §8.1.3, minimal). */
function lengthOfLength(len: number): number {
  if (len < 128) return 1;
  let n = 1;
  for (let rest = len; rest > 0; rest = Math.floor(rest / 256)) n++;
  return n;
}

/**
 * Content sizes of `node` and its descendants, in pre-order (the order `write` and `copy`
 * visit them): each node's size is computed once.
 */
function contentSizes(node: ASN1Obj, sizes: number[]): number {
  const index = sizes.length;
  sizes.push(0);
  let content = 0;
  if (node.subs.length > 0) {
    for (const sub of node.subs) {
      const inner = contentSizes(sub, sizes);
      content += 1 + lengthOfLength(inner) + inner;
    }
  } else {
    content = node.value.length;
  }
  sizes[index] = content;
  return content;
}

/** Writes the tag and length of a node; returns where its content starts. */
function writeHeader(node: ASN1Obj, content: number, out: Buffer, at: number): number {
  out[at++] = node.tag.toDER();
  if (content < 128) {
    out[at++] = content;
  } else {
    const n = lengthOfLength(content) - 1;
    out[at++] = 0x80 | n;
    for (let i = n - 1, rest = content; i >= 0; i--, rest = Math.floor(rest / 256)) out[at + i] = rest % 256;
    at += n;
  }
  return at;
}

/** One encoding pass over a tree whose sizes are known; `onNode` sees each node and where its content lies. */
class Writer {
  private next = 0;

  constructor(
    private readonly sizes: readonly number[],
    readonly out: Buffer,
  ) {}

  write(node: ASN1Obj, at: number, onNode?: (node: ASN1Obj, start: number, end: number, subs: ASN1Obj[]) => ASN1Obj): [ASN1Obj | undefined, number] {
    const start = writeHeader(node, this.sizes[this.next++]!, this.out, at);
    let end = start;
    const subs: ASN1Obj[] = [];
    if (node.subs.length > 0) {
      for (const sub of node.subs) {
        const [copy, next] = this.write(sub, end, onNode);
        if (onNode) subs.push(copy!);
        end = next;
      }
    } else {
      this.out.set(node.value, start);
      end = start + node.value.length;
    }
    return [onNode?.(node, start, end, subs), end];
  }
}

function writerFor(node: ASN1Obj, alloc: (size: number) => Buffer): Writer {
  const sizes: number[] = [];
  const content = contentSizes(node, sizes);
  return new Writer(sizes, alloc(1 + lengthOfLength(content) + content));
}

/** The DER encoding of `node`: equal to `node.toDER()`. */
export function encodeDer(node: ASN1Obj): Buffer {
  const writer = writerFor(node, (size) => Buffer.allocUnsafe(size));
  const [, end] = writer.write(node, 0);
  /* istanbul ignore if -- the two passes agree by construction */
  if (end !== writer.out.length) throw new Error(`DER encoding size mismatch: wrote ${end} of ${writer.out.length} bytes`);
  return writer.out;
}

/**
 * A copy of the tree over a new buffer holding its encoding: what
 * `ASN1Obj.parseBuffer(Buffer.from(node.toDER()))` returns (each node's value a view of the
 * new buffer at its content, the same children), without parsing again. Parsing canonical
 * DER that this parser produced gives back the same tree: it accepts only minimal lengths,
 * and a node's children were parsed from exactly its content.
 */
export function copyDer(node: ASN1Obj): ASN1Obj {
  const writer = writerFor(node, (size) => Buffer.alloc(size));
  const [copy] = writer.write(node, 0, (n, start, end, subs) => new ASN1Obj(n.tag, writer.out.subarray(start, end), subs));
  return copy!;
}
