import { createHash } from 'node:crypto';
import { isLosslessNumber, parse } from 'lossless-json';

/**
 * The SHA-256 of one bundle file as OPA's bundle signatures define it
 * (open-policy-agent/opa, bundle/hash.go). Unstructured files (wasm, rego) are
 * hashed as bytes. Structured files (data.json, .manifest, patch.json) are
 * parsed and hashed in a canonical form, so whitespace and key order do not
 * matter: objects as `{` key `:` value `,` … `}` with keys in byte order,
 * arrays as `[` … `]`, and every primitive as Go's JSON encoder writes it —
 * numbers exactly as written in the file (OPA reads them as json.Number),
 * strings with HTML characters unescaped and U+2028/U+2029 escaped.
 */
export function bundleFileHash(path: string, bytes: Buffer): string {
  const h = createHash('sha256');
  if (!isStructured(path)) return h.update(bytes).digest('hex');
  walk(parse(bytes.toString('utf8')), (s) => h.update(s, 'utf8'));
  return h.digest('hex');
}

const STRUCTURED = new Set(['data.json', '.manifest', 'patch.json']);

export function isStructured(path: string): boolean {
  return STRUCTURED.has(path.slice(path.lastIndexOf('/') + 1));
}

function walk(v: unknown, out: (s: string) => void): void {
  if (Array.isArray(v)) {
    out('[');
    v.forEach((e, i) => {
      if (i > 0) out(',');
      walk(e, out);
    });
    out(']');
    return;
  }
  if (isLosslessNumber(v)) {
    out(v.value);
    return;
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
    out('{');
    keys.forEach((k, i) => {
      if (i > 0) out(',');
      out(goString(k));
      out(':');
      walk((v as Record<string, unknown>)[k], out);
    });
    out('}');
    return;
  }
  if (typeof v === 'string') {
    out(goString(v));
    return;
  }
  out(JSON.stringify(v));
}

/** Go's json.Encoder (SetEscapeHTML false): like JSON.stringify, but U+2028/U+2029 escaped and lone surrogates as U+FFFD. */
function goString(s: string): string {
  return JSON.stringify((s as unknown as { toWellFormed(): string }).toWellFormed())
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
