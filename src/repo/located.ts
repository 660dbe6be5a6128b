/**
 * What the loader's cross-file checks know of a document: where it is, and a host's uniqueness keys. Shared by the
 * full load (load.ts) and the incremental one (incremental.ts), so both claim the same keys for the same host.
 */
import { type Host, hostnameOf, type Kind, type SourcePos } from '../model/index.js';
import type { FilePos, ParsedDoc } from './parse.js';

/** A valid resource, its file, its parsed document and the index of its file in the load's sorted entries. */
export type Located<T> = { res: T; file: string; doc: ParsedDoc; index: number };

/** A host's uniqueness keys, normalised; computed once per (immutable) host document. */
export type HostKeys = { ip: string | undefined; bmc: string | undefined; hostname: string };
const hostKeys = new WeakMap<Host, HostKeys>();
export function keysOf(h: Host): HostKeys {
  let k = hostKeys.get(h);
  if (k === undefined) {
    const { network, hardware } = h.spec;
    k = {
      ip: network?.address === undefined ? undefined : network.address.replace(/\/\d+$/, '').toLowerCase(),
      bmc: hardware.bmc === undefined ? undefined : `${hardware.bmc.address.toLowerCase()}:${hardware.bmc.port ?? 623}`,
      hostname: hostnameOf(h).toLowerCase(),
    };
    hostKeys.set(h, k);
  }
  return k;
}

/** A document's `sources` entry; kept per document object (the same blob may sit at two paths: checked). */
const docSources = new WeakMap<ParsedDoc, { key: string; pos: SourcePos }>();
export function sourceOf(kind: Kind, doc: ParsedDoc, file: string): { key: string; pos: SourcePos } {
  let s = docSources.get(doc);
  if (s === undefined || s.pos.file !== file) {
    s = { key: `${kind}/${doc.name}`, pos: { file, line: doc.at[0], col: doc.at[1] } };
    docSources.set(doc, s);
  }
  return s;
}

export function where(file: string, at: FilePos): string {
  return `${file}:${at[0]}:${at[1]}`;
}
