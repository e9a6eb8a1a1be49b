import { isJsonObject, type JsonObject, type JsonValue } from '../../lib/json.js';
import { getAt, parsePointer } from '../../lib/pointer.js';

export type CapScope = 'subject' | 'team' | 'cost_center';
export type CapWindow = 'day' | 'week' | 'month';

/** A cap a live bundle enforces, as its data declares it at `gavel.budget_caps.caps` (README "Console"). */
export interface Cap {
  bundle: string;
  name: string;
  scope: CapScope;
  window: CapWindow;
  unit: 'tokens' | 'cost';
  /** The limit for one key: its override, else the default. */
  limitFor(key: string): number | undefined;
}

const SCOPES: readonly string[] = ['subject', 'team', 'cost_center'];
const WINDOWS: readonly string[] = ['day', 'week', 'month'];

/** The caps the bundles declare; a declaration that does not read as one is skipped (the page shows usage without it). */
export function capsOf(bundles: ReadonlyArray<{ name: string; data: JsonObject }>): Cap[] {
  const out: Cap[] = [];
  for (const b of bundles) {
    const list = getAt(b.data, '/gavel/budget_caps/caps');
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!isJsonObject(c)) continue;
      const { name, scope, window, unit } = c;
      if (typeof name !== 'string' || typeof scope !== 'string' || !SCOPES.includes(scope)) continue;
      if (typeof window !== 'string' || !WINDOWS.includes(window) || (unit !== 'tokens' && unit !== 'cost')) continue;
      if (typeof c.default !== 'string' || !c.default.startsWith('/')) continue;
      const defaultPointer = c.default;
      const overridesPointer = typeof c.overrides === 'string' && c.overrides.startsWith('/') ? c.overrides : undefined;
      const field = parsePointer(defaultPointer).at(-1) ?? '';
      out.push({
        bundle: b.name,
        name,
        scope: scope as CapScope,
        window: window as CapWindow,
        unit,
        limitFor: (key) => {
          const overrides = overridesPointer ? getAt(b.data, overridesPointer) : undefined;
          const own: JsonValue | undefined = isJsonObject(overrides) && Object.hasOwn(overrides, key) ? overrides[key] : undefined;
          const value = isJsonObject(own) ? own[field] : own;
          if (typeof value === 'number') return value;
          const fallback = getAt(b.data, defaultPointer);
          return typeof fallback === 'number' ? fallback : undefined;
        },
      });
    }
  }
  return out;
}
