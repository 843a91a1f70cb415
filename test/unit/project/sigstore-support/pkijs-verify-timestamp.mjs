// Verifies an RFC 3161 TimeStampResp with pkijs, independently of @sigstore/core.
// pkijs v4 is ESM-only and jest runs this project as CommonJS, so the self-check runs this
// script in a child Node process. Input (stdin, JSON): { response, data, root } as base64.
// Output (stdout, JSON): { status, verified, genTime } or { error }.
import { webcrypto } from 'node:crypto';
import * as pkijs from 'pkijs';

pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto }));

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const bytes = (b64) => {
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
};

try {
  const response = pkijs.TimeStampResp.fromBER(bytes(input.response));
  const signedData = new pkijs.SignedData({ schema: response.timeStampToken.content });
  const tstInfo = pkijs.TSTInfo.fromBER(signedData.encapContentInfo.eContent.valueBlock.valueHexView);
  let verified;
  try {
    verified = await response.verify({
      signer: 0,
      trustedCerts: [pkijs.Certificate.fromBER(bytes(input.root))],
      data: bytes(input.data),
    });
  } catch (error) {
    verified = false;
  }
  process.stdout.write(JSON.stringify({ status: response.status.status, verified, genTime: tstInfo.genTime.toISOString() }));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error) }));
}
