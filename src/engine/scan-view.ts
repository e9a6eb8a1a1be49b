import { isJsonObject, type JsonObject, type JsonValue } from '../lib/json.js';
import { needsNormalising, normaliseText, skeleton } from './scan-text.js';

/**
 * `input.context.scan`: what gavel gives a policy so that it scans normalised
 * text (src/engine/scan-text.ts; OPA's wasm has no Unicode normalisation). The
 * input itself reaches the policy as sent, so every redaction still names the
 * JSON pointer of the original string; the view holds only what differs:
 *
 *   texts:     {pointer of a string under /content or /action/params: its normalised form}
 *   keys:      {pointer of an object member there: its key, normalised}
 *   skeletons: [lower-case skeleton of such a string or key, for the injection patterns]
 *
 * each present only when the text changes (a text in plain ASCII never does).
 */
export type ScanView = {
  texts: Record<string, string>;
  keys: Record<string, string>;
  skeletons: string[];
};

/** The roots the reference policy scans (policies/ai/content.rego `scan_roots`). */
const ROOTS = ['content', 'params'] as const;

/** The view of an input's /content and /action/params; undefined when nothing there changes. */
export function scanViewOf(input: JsonObject): ScanView | undefined {
  const view: ScanView = { texts: {}, keys: {}, skeletons: [] };
  const action = input.action;
  for (const root of ROOTS) {
    const value = root === 'content' ? input.content : isJsonObject(action) ? action.params : undefined;
    if (value !== undefined) visit(value, root === 'content' ? '/content' : '/action/params', view);
  }
  const empty = view.skeletons.length === 0 && Object.keys(view.texts).length === 0 && Object.keys(view.keys).length === 0;
  return empty ? undefined : view;
}

function visit(value: JsonValue, pointer: string, view: ScanView): void {
  if (typeof value === 'string') {
    note(value, pointer, view.texts, view);
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) visit(item, `${pointer}/${i}`, view);
  } else if (isJsonObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const member = `${pointer}/${escapeToken(key)}`;
      note(key, member, view.keys, view);
      visit(child, member, view);
    }
  }
}

function note(text: string, pointer: string, into: Record<string, string>, view: ScanView): void {
  if (!needsNormalising(text)) return;
  const normal = normaliseText(text);
  if (normal !== text) into[pointer] = normal;
  const skel = skeleton(normal);
  if (skel !== undefined) view.skeletons.push(skel);
}

/** RFC 6901, as the policy builds its pointers: `~` → `~0`, `/` → `~1`. */
function escapeToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The input the policy evaluates: `context.scan` set to the view, or removed
 * when there is none (only gavel says what the normalised text is; a caller's
 * own `context.scan` never reaches the policy). An input with no view and no
 * `context.scan` is returned as it is. A `context` that is not an object (never
 * on the decision path, which always builds one) is left alone.
 */
export function withScanView(input: JsonObject): JsonObject {
  const view = scanViewOf(input);
  const context = input.context;
  if (context !== undefined && !isJsonObject(context)) return input;
  if (view === undefined && (context === undefined || !Object.hasOwn(context, 'scan'))) return input;
  const { scan: _caller, ...rest } = context ?? {};
  return { ...input, context: view === undefined ? rest : { ...rest, scan: view } };
}
