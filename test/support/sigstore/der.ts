// A minimal DER (ASN.1) writer: just enough to build X.509 certificates, CMS SignedData
// and RFC 3161 tokens byte by byte. We write DER ourselves rather than going through an
// X.509 library because the test Sigstore needs exact control over the bytes (the SCT is
// signed over a TBSCertificate that must re-encode identically once the SCT extension is
// removed, Fulcio's OtherName SAN and raw-string issuer extension have no library API, and
// broken variants need deliberate defects) and because node:crypto signs synchronously.
// Everything here is strict DER: minimal lengths, minimal integers, sorted SET OF.

/** Encodes a DER length (short form below 128, minimal long form above). */
function encodeLength(length: number): NonSharedBuffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Tag-length-value with a single-byte tag. */
export function tlv(tag: number, content: NonSharedBuffer): NonSharedBuffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function sequence(...items: NonSharedBuffer[]): NonSharedBuffer {
  return tlv(0x30, Buffer.concat(items));
}

/** DER SET OF: members are sorted by their encodings (X.690 11.6). */
export function setOf(...items: NonSharedBuffer[]): NonSharedBuffer {
  return tlv(0x31, Buffer.concat([...items].sort((a, b) => Buffer.compare(a, b))));
}

/** INTEGER from a number/bigint, or from an unsigned big-endian magnitude (serial numbers). */
export function integer(value: number | bigint | NonSharedBuffer): NonSharedBuffer {
  let bytes: NonSharedBuffer;
  if (Buffer.isBuffer(value)) {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    bytes = value.subarray(start);
    if (bytes.length === 0) bytes = Buffer.from([0]);
    // A set high bit would make the value negative: prefix a zero byte.
    if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  } else {
    const n = BigInt(value);
    if (n < 0n) throw new Error('negative integers are not needed here');
    let hex = n.toString(16);
    if (hex.length % 2) hex = '0' + hex;
    return integer(Buffer.from(hex, 'hex'));
  }
  return tlv(0x02, bytes);
}

export function boolean(value: boolean): NonSharedBuffer {
  return tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
}

export function nullValue(): NonSharedBuffer {
  return Buffer.from([0x05, 0x00]);
}

export function objectIdentifier(dotted: string): NonSharedBuffer {
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  if (arcs.length < 2) throw new Error(`invalid OID ${dotted}`);
  const out: number[] = [];
  const encodeArc = (arc: bigint): void => {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) chunk.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...chunk);
  };
  encodeArc(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) encodeArc(arc);
  return tlv(0x06, Buffer.from(out));
}

export function octetString(content: NonSharedBuffer): NonSharedBuffer {
  return tlv(0x04, content);
}

export function bitString(content: NonSharedBuffer, unusedBits = 0): NonSharedBuffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), content]));
}

/**
 * A NamedBitList BIT STRING (KeyUsage): bit 0 is the most significant bit of the first byte,
 * and DER drops trailing zero bits.
 */
export function namedBits(bits: number[]): NonSharedBuffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)]! |= 0x80 >> (bit % 8);
  return bitString(bytes, 7 - (highest % 8));
}

export function utf8String(value: string): NonSharedBuffer {
  return tlv(0x0c, Buffer.from(value, 'utf8'));
}

export function printableString(value: string): NonSharedBuffer {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)) throw new Error(`not printable: ${value}`);
  return tlv(0x13, Buffer.from(value, 'ascii'));
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** UTCTime, YYMMDDHHMMSSZ (whole seconds, as RFC 5280 requires). */
export function utcTime(date: Date): NonSharedBuffer {
  const d = date;
  const text =
    pad(d.getUTCFullYear() % 100) +
    pad(d.getUTCMonth() + 1) +
    pad(d.getUTCDate()) +
    pad(d.getUTCHours()) +
    pad(d.getUTCMinutes()) +
    pad(d.getUTCSeconds()) +
    'Z';
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

/** GeneralizedTime, YYYYMMDDHHMMSSZ (whole seconds). */
export function generalizedTime(date: Date): NonSharedBuffer {
  const d = date;
  const text =
    pad(d.getUTCFullYear(), 4) + pad(d.getUTCMonth() + 1) + pad(d.getUTCDate()) + pad(d.getUTCHours()) + pad(d.getUTCMinutes()) + pad(d.getUTCSeconds()) + 'Z';
  return tlv(0x18, Buffer.from(text, 'ascii'));
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050. */
export function x509Time(date: Date): NonSharedBuffer {
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? utcTime(date) : generalizedTime(date);
}

/** [n] EXPLICIT: a constructed context tag wrapping one complete encoding. */
export function explicit(tagNumber: number, inner: NonSharedBuffer): NonSharedBuffer {
  return tlv(0xa0 | tagNumber, inner);
}

/** [n] IMPLICIT over the content octets of a primitive type (e.g. IA5String in a GeneralName). */
export function implicitPrimitive(tagNumber: number, content: NonSharedBuffer): NonSharedBuffer {
  return tlv(0x80 | tagNumber, content);
}

/** [n] IMPLICIT over the content octets of a constructed type (SEQUENCE, SET). */
export function implicitConstructed(tagNumber: number, content: NonSharedBuffer): NonSharedBuffer {
  return tlv(0xa0 | tagNumber, content);
}

/** The content octets of a DER encoding whose tag and length fit the short forms we write. */
export function contentOf(encoding: NonSharedBuffer): NonSharedBuffer {
  const lengthByte = encoding[1]!;
  const headerLength = lengthByte < 0x80 ? 2 : 2 + (lengthByte & 0x7f);
  return encoding.subarray(headerLength);
}

export function algorithmIdentifier(oid: string, parameters?: NonSharedBuffer): NonSharedBuffer {
  return parameters ? sequence(objectIdentifier(oid), parameters) : sequence(objectIdentifier(oid));
}
