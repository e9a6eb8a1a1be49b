import type { PeerCertificate } from 'node:tls';
import { identityForm, identityProblem } from '../../lib/identity-form.js';

/**
 * An identity proven by a client certificate, with the kind of name it is.
 * The kind decides what an access pattern may match: a URI only URI patterns,
 * a DNS name or CN only name patterns. A string alone would let a DNS SAN
 * spelled `spiffe://corp/admin/x` pass for that SPIFFE id.
 */
export interface PeerIdentity {
  kind: 'uri' | 'dns' | 'cn' | 'claim';
  /** As the certificate holds it (what the ledger records). */
  name: string;
}

/** Why a certificate names no one. */
export interface NoIdentity {
  problem: string;
}

/**
 * The identity a client certificate proves: its first URI SAN (a SPIFFE id such
 * as `spiffe://corp.example/gateway/eu-1`), else its first DNS SAN, else, with
 * no SAN at all, its subject common name. Each is taken only as what it is:
 * - a URI SAN must be a URI (a scheme, then no spaces);
 * - a DNS SAN must be a host name (RFC 1123 labels; a `*.` wildcard names no one holder);
 * - a CN must not read as a URI (it is free text);
 * and none may hold an invisible or control character. The first name of the
 * chosen kind decides: when it is malformed the certificate names no one, it
 * does not fall through to the next name.
 */
export function certificateIdentity(cert: Pick<PeerCertificate, 'subjectaltname' | 'subject'>): PeerIdentity | NoIdentity {
  const text = cert.subjectaltname ?? '';
  const names = subjectAltNames(text);
  if (names === undefined) return { problem: 'its subject alternative names do not parse' };
  const uri = names.find((n) => n.type === 'URI');
  if (uri) return checked({ kind: 'uri', name: uri.value }, uriProblem(uri.value));
  const dns = names.find((n) => n.type === 'DNS');
  if (dns) return checked({ kind: 'dns', name: dns.value }, hostnameProblem(dns.value));
  // The CN only when the certificate has no SAN at all (RFC 6125 practice).
  if (text !== '') return { problem: 'it has subject alternative names but no URI or DNS name' };
  const cn = cert.subject?.CN as string | string[] | undefined;
  const first = Array.isArray(cn) ? cn[0] : cn;
  if (!first) return { problem: 'it has no URI or DNS SAN and no subject CN' };
  // Read as a person would (full-width "：／／" is "://"): a CN must not pass for a URI.
  return checked({ kind: 'cn', name: first }, identityForm(first).includes('://') ? 'reads as a URI' : undefined);
}

export function isIdentity(r: PeerIdentity | NoIdentity): r is PeerIdentity {
  return !('problem' in r);
}

function checked(id: PeerIdentity, problem: string | undefined): PeerIdentity | NoIdentity {
  const why = identityProblem(id.name) ?? problem;
  const what = id.kind === 'uri' ? 'URI SAN' : id.kind === 'dns' ? 'DNS SAN' : 'subject CN';
  return why ? { problem: `its ${what} ${JSON.stringify(id.name)} ${why}` } : id;
}

const URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;

function uriProblem(value: string): string | undefined {
  return URI.test(value) ? undefined : 'is not a URI (scheme:…, no spaces)';
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Why a DNS SAN is not a host name an identity can be (RFC 1123), or undefined. */
export function hostnameProblem(value: string): string | undefined {
  if (value.startsWith('*.')) return 'is a wildcard, which names no one holder';
  if (value.length === 0 || value.length > 253) return 'is not a host name (1 to 253 characters)';
  if (!value.split('.').every((label) => LABEL.test(label))) return 'is not a host name (RFC 1123 labels: letters, digits, inner hyphens)';
  return undefined;
}

/**
 * Node's `subjectaltname` text: `TYPE:value` entries joined by ", ". A value
 * that would be ambiguous (a comma, a quote, a control character) is written as
 * a JSON string literal, so a name cannot smuggle in a second entry.
 */
export function subjectAltNames(text: string): Array<{ type: string; value: string }> | undefined {
  const out: Array<{ type: string; value: string }> = [];
  const entry = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;
  let at = 0;
  while (at < text.length) {
    entry.lastIndex = at;
    const m = entry.exec(text);
    // Anything unexpected: the whole list is unusable.
    if (!m || m[0] === '') return undefined;
    const raw = m[2]!;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        return undefined;
      }
    }
    out.push({ type: m[1]!, value });
    at = entry.lastIndex;
  }
  return out;
}
