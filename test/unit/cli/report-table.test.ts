import { ImgverifyError } from '../../../src/errors';
import { Progress, summaryTable } from '../../../src/cli/report-table';
import type { ImageVerificationResult } from '../../../src/verify/types';

const D = `sha256:${'ab'.repeat(32)}`;
const ok: ImageVerificationResult = {
  image: 'r.io/a:v1',
  reference: 'r.io/a:v1',
  digest: D,
  pinnedReference: `r.io/a:v1@${D}`,
  verified: true,
  signer: { subject: 'me@x.io', issuer: 'https://i' },
  signatures: [{ source: 'sig-tag', location: 'x', verified: true, signer: { subject: 'me@x.io', issuer: 'https://i' }, trustRoot: 'test' }],
};
const failed: ImageVerificationResult = {
  image: 'r.io/b:v1',
  reference: 'r.io/b:v1',
  digest: D,
  verified: false,
  signatures: [],
  error: new ImgverifyError('NO_SIGNATURES', 'no signatures found'),
};
const errored: ImageVerificationResult = {
  image: 'r.io/c:v1',
  reference: 'r.io/c:v1',
  verified: false,
  signatures: [],
  error: new ImgverifyError('REGISTRY_TIMEOUT', 'timed out'),
};

test('summary table: aligned columns, verdicts, reasons, totals', () => {
  const lines = summaryTable([ok, failed, errored]).split('\n');
  expect(lines[0]).toMatch(/^IMAGE\s+DIGEST\s+VERDICT\s+SIGNER\s+REASON$/);
  expect(lines[1]).toMatch(/^r\.io\/a:v1\s+sha256:abababababab…\s+verified\s+me@x\.io$/);
  expect(lines[2]).toMatch(/FAILED\s+NO_SIGNATURES: no signatures found$/);
  expect(lines[3]).toMatch(/^r\.io\/c:v1\s+-\s+ERROR\s+REGISTRY_TIMEOUT: timed out$/);
  expect(lines.at(-1)).toBe('3 images: 1 verified, 1 failed, 1 could not be checked');
  // Columns line up: VERDICT starts at the same offset on every row.
  const col = lines[0]!.indexOf('VERDICT');
  expect([lines[1], lines[2], lines[3]].map((l) => l!.slice(col).split(/\s/)[0])).toEqual(['verified', 'FAILED', 'ERROR']);
});

test('progress: a redrawn bar on a terminal, plain lines otherwise', () => {
  let tty = '';
  const bar = new Progress(2, (t) => (tty += t), true);
  bar.update(ok);
  bar.update(failed);
  expect(tty).toBe(`\r[${'#'.repeat(15)}${'.'.repeat(15)}] 1/2  0 not verified \r[${'#'.repeat(30)}] 2/2  1 not verified \n`);
  let plain = '';
  const lines = new Progress(2, (t) => (plain += t), false);
  lines.update(ok);
  lines.update(failed);
  expect(plain).toBe('[1/2] verified r.io/a:v1\n[2/2] FAILED r.io/b:v1: NO_SIGNATURES\n');
});
