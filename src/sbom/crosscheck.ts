/**
 * Checks that hold across a whole document, whatever its serialisation: element identifiers are
 * unique and every relationship names an element that exists (in this document, or in an
 * external document it declares). Image extraction walks relationships (layers, variants), so a
 * dangling or ambiguous identifier would make it guess; we refuse the document instead.
 */
import type { SpdxDocument } from './model';
import { ELEMENT_REF_RE, quote } from './vocabulary';

/** Where an element or relationship came from, for the caller's error message. */
export type Where = { kind: 'package' | 'file' | 'snippet' | 'relationship'; index: number } | { kind: 'document' };

export type Fail = (where: Where, message: string) => never;

export function crossCheck(doc: SpdxDocument, fail: Fail): void {
  const ids = new Map<string, Where>([[doc.spdxId, { kind: 'document' }]]);
  const define = (id: string, where: Where): void => {
    if (ids.has(id)) fail(where, `SPDX identifier ${id} is defined twice`);
    ids.set(id, where);
  };
  doc.packages.forEach((p, index) => define(p.spdxId, { kind: 'package', index }));
  doc.files.forEach((f, index) => define(f.spdxId, { kind: 'file', index }));
  doc.snippets.forEach((s, index) => define(s.spdxId, { kind: 'snippet', index }));

  const externalDocs = new Set<string>();
  for (const ref of doc.externalDocumentRefs) {
    if (externalDocs.has(ref.id)) fail({ kind: 'document' }, `external document ${ref.id} is declared twice`);
    externalDocs.add(ref.id);
  }

  const resolve = (ref: string, where: Where, side: string): void => {
    const m = ELEMENT_REF_RE.exec(ref);
    if (!m) fail(where, `relationship ${side} ${quote(ref)} is not an SPDX element reference`);
    const [, docRef, id] = m as unknown as [string, string | undefined, string];
    if (docRef !== undefined) {
      if (!externalDocs.has(docRef)) fail(where, `relationship ${side} uses ${docRef}, which no ExternalDocumentRef declares`);
    } else if (!ids.has(id)) {
      fail(where, `relationship ${side} ${id} is not defined in this document`);
    }
  };
  doc.relationships.forEach((r, index) => {
    const where: Where = { kind: 'relationship', index };
    resolve(r.element, where, 'element');
    if (r.related !== 'NONE' && r.related !== 'NOASSERTION') resolve(r.related, where, 'target');
  });
}
