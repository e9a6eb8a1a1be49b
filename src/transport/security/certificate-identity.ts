import type { PeerCertificate } from 'node:tls';

/**
 * The identity a client certificate proves: its first URI SAN (a SPIFFE id such
 * as `spiffe://corp.example/gateway/eu-1`), else its first DNS SAN, else its
 * subject common name; undefined when it has none of them.
 */
export function certificateIdentity(cert: Pick<PeerCertificate, 'subjectaltname' | 'subject'>): string | undefined {
  const text = cert.subjectaltname ?? '';
  const names = subjectAltNames(text);
  // A SAN list that does not parse whole names no one: better no identity than a wrong one.
  if (names === undefined) return undefined;
  const uri = names.find((n) => n.type === 'URI');
  if (uri) return uri.value;
  const dns = names.find((n) => n.type === 'DNS');
  if (dns) return dns.value;
  // The CN only when the certificate has no SAN at all (RFC 6125 practice), and never one shaped
  // like a URI: a CN is free text, it must not pass for a SPIFFE id in the access rules.
  if (text !== '') return undefined;
  const cn = cert.subject?.CN as string | string[] | undefined;
  const first = Array.isArray(cn) ? cn[0] : cn;
  return first && !first.includes('://') ? first : undefined;
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
