/**
 * `policy test -f --output junit`: the manifest report as JUnit XML, the de-facto format CI
 * systems (Jenkins, GitLab, Azure Pipelines) read: one `<testsuite>` per manifest file, one
 * `<testcase>` per image of each examined object (a denied image is a `<failure>`, a warned one
 * passes with the warning in `<system-out>`), one per object whose images cannot be read and per
 * document that cannot be read (an `<error>`). Ignored objects are not test cases.
 */
import { fileLine, objectTitle, reportCounts, whereInObject, type ManifestReport } from './manifest-report';

/** XML 1.0 text or attribute value: escaped, and characters XML cannot carry replaced. */
export function xmlText(value: string): string {
  return (
    value
      // eslint-disable-next-line no-control-regex -- removing what XML 1.0 forbids is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

interface Case {
  readonly classname: string;
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly failure?: string;
  readonly error?: string;
  readonly out?: string;
}

function testcase(c: Case): string {
  const attrs = `classname="${xmlText(c.classname)}" name="${xmlText(c.name)}" file="${xmlText(c.file)}" line="${c.line}"`;
  const body = [
    c.failure !== undefined ? `      <failure message="${xmlText(c.failure)}" type="denied">${xmlText(c.failure)}</failure>` : '',
    c.error !== undefined ? `      <error message="${xmlText(c.error)}" type="invalid">${xmlText(c.error)}</error>` : '',
    c.out !== undefined ? `      <system-out>${xmlText(c.out)}</system-out>` : '',
  ].filter((l) => l !== '');
  return body.length === 0 ? `    <testcase ${attrs}/>` : `    <testcase ${attrs}>\n${body.join('\n')}\n    </testcase>`;
}

export function manifestReportJunit(report: ManifestReport): string {
  const suites = new Map<string, Case[]>();
  const add = (file: string, c: Case): void => {
    const list = suites.get(file) ?? [];
    list.push(c);
    suites.set(file, list);
  };
  const shown = (file: string): string => (file === '-' ? '(stdin)' : file);
  for (const e of report.errors) {
    add(e.file, { classname: shown(e.file), name: `document ${e.document}`, file: shown(e.file), line: e.position?.line ?? 0, error: e.message });
  }
  for (const o of report.objects) {
    if (o.verdict === 'ignored') continue;
    const classname = `${shown(o.file)}: ${objectTitle(o)}`;
    if (o.malformed !== undefined) {
      add(o.file, { classname, name: 'images', file: shown(o.file), line: o.position.line, failure: o.malformed });
      continue;
    }
    for (const i of o.images) {
      const d = i.decision;
      add(o.file, {
        classname,
        name: `${whereInObject(i)}: ${i.image}`,
        file: shown(o.file),
        line: i.position.line,
        ...(d.verdict === 'denied' ? { failure: d.reason ?? `${i.image} would be denied` } : {}),
        ...(d.verdict === 'warned' ? { out: `warning: ${d.reason ?? i.image}` } : {}),
      });
    }
  }
  const c = reportCounts(report);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  lines.push(
    `<testsuites name="imgverify policy test" tests="${[...suites.values()].reduce((n, l) => n + l.length, 0)}" failures="${[...suites.values()].flat().filter((x) => x.failure !== undefined).length}" errors="${c.errors}">`,
  );
  for (const [file, cases] of suites) {
    const failures = cases.filter((x) => x.failure !== undefined).length;
    const errors = cases.filter((x) => x.error !== undefined).length;
    lines.push(
      `  <testsuite name="${xmlText(fileLine(file, 1).replace(/:1$/, ''))}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="0">`,
    );
    lines.push(...cases.map(testcase));
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
