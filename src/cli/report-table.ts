/** The batch summary table and the progress display of verify-release. */
import type { ImageVerificationResult } from '..';

function signerOf(r: ImageVerificationResult): string {
  if (!r.verified) return '';
  const s = r.signer;
  return s.publicKeySha256 ? `key:${s.publicKeySha256.slice(0, 12)}` : (s.subject ?? '');
}

function verdictOf(r: ImageVerificationResult): 'verified' | 'FAILED' | 'ERROR' {
  if (r.verified) return 'verified';
  return r.error?.category === 'verification' ? 'FAILED' : 'ERROR';
}

export function summaryTable(results: readonly ImageVerificationResult[]): string {
  const rows = results.map((r) => [
    r.reference ?? r.image,
    r.digest ? `${r.digest.slice(0, 19)}…` : '-',
    verdictOf(r),
    signerOf(r),
    r.verified ? '' : `${r.error.code}: ${r.error.message}`,
  ]);
  const header = ['IMAGE', 'DIGEST', 'VERDICT', 'SIGNER', 'REASON'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const verified = results.filter((r) => r.verified).length;
  const failed = results.filter((r) => verdictOf(r) === 'FAILED').length;
  const errors = results.length - verified - failed;
  return [line(header), ...rows.map(line), '', `${results.length} images: ${verified} verified, ${failed} failed, ${errors} could not be checked`].join('\n');
}

/** Progress: a redrawn bar on a terminal, one plain line per image otherwise. */
export class Progress {
  private done = 0;
  private failed = 0;

  constructor(
    private readonly total: number,
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  update(result: ImageVerificationResult): void {
    this.done++;
    if (!result.verified) this.failed++;
    if (this.tty) {
      const width = 30;
      const filled = this.total === 0 ? width : Math.round((this.done / this.total) * width);
      this.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}  ${this.failed} not verified `);
      if (this.done === this.total) this.write('\n');
    } else {
      this.write(`[${this.done}/${this.total}] ${verdictOf(result)} ${result.reference ?? result.image}${result.verified ? '' : `: ${result.error?.code}`}\n`);
    }
  }
}
