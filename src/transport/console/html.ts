/**
 * HTML built only through `html\`…\``: every interpolated value is escaped unless it is itself
 * `Html` (a fragment built the same way), so a string from the ledger (a prompt holding `<script>`,
 * an `onerror=` attribute) can only ever be text. Bidirectional overrides, zero-width and control
 * characters are shown as visible `⟨U+202E⟩` marks: a name cannot be made to read as another.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Controls (but tab and newline), bidi embeddings, overrides and isolates, zero-width and BOM, line and paragraph separators. */
const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/gu;

export function escapeText(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c]!).replace(INVISIBLE, (c) => `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeText(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** A fragment gavel wrote itself (never a value from a request or the ledger). */
export function trusted(text: string): Html {
  return new Html(text);
}
