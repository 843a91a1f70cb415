// An RFC 6962 Merkle tree over log entries, with root hashes and inclusion proofs for any
// past tree size, as a transparency log (Rekor) serves them.
import crypto from 'node:crypto';

export function leafHash(leaf: Uint8Array): NonSharedBuffer {
  return crypto
    .createHash('sha256')
    .update(Buffer.from([0x00]))
    .update(leaf)
    .digest();
}

function nodeHash(left: Uint8Array, right: Uint8Array): NonSharedBuffer {
  return crypto
    .createHash('sha256')
    .update(Buffer.from([0x01]))
    .update(left)
    .update(right)
    .digest();
}

/** Largest power of two strictly smaller than n (n >= 2): RFC 6962's split point k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export class MerkleTree {
  private readonly leaves: NonSharedBuffer[] = [];
  /** Hashes of complete (power-of-two) subtrees, which never change once filled. */
  private readonly perfectSubtrees = new Map<string, NonSharedBuffer>();

  get size(): number {
    return this.leaves.length;
  }

  /** Appends an entry; returns its index. */
  append(entry: Uint8Array): number {
    this.leaves.push(leafHash(entry));
    return this.leaves.length - 1;
  }

  /** MTH(D[0:treeSize]) (RFC 6962 2.1). */
  rootHash(treeSize = this.size): NonSharedBuffer {
    if (treeSize < 1 || treeSize > this.size) throw new Error(`no tree of size ${treeSize}`);
    return this.subtreeHash(0, treeSize);
  }

  /**
   * PATH(index, D[0:treeSize]) (RFC 6962 2.1.1): sibling hashes ordered from the leaf up,
   * which is the order Rekor returns and verifiers consume.
   */
  inclusionProof(index: number, treeSize = this.size): NonSharedBuffer[] {
    if (index < 0 || index >= treeSize || treeSize > this.size) {
      throw new Error(`no leaf ${index} in a tree of size ${treeSize}`);
    }
    return this.path(index, 0, treeSize);
  }

  private subtreeHash(start: number, end: number): NonSharedBuffer {
    const n = end - start;
    if (n === 1) return this.leaves[start]!;
    const perfect = (n & (n - 1)) === 0;
    const cached = perfect ? this.perfectSubtrees.get(`${start}+${n}`) : undefined;
    if (cached) return cached;
    const k = splitPoint(n);
    const hash = nodeHash(this.subtreeHash(start, start + k), this.subtreeHash(start + k, end));
    if (perfect) this.perfectSubtrees.set(`${start}+${n}`, hash);
    return hash;
  }

  private path(index: number, start: number, end: number): NonSharedBuffer[] {
    const n = end - start;
    if (n === 1) return [];
    const k = splitPoint(n);
    return index < k
      ? [...this.path(index, start, start + k), this.subtreeHash(start + k, end)]
      : [...this.path(index - k, start + k, end), this.subtreeHash(start, start + k)];
  }
}
