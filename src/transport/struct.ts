import { GavelError } from '../lib/errors.js';
import type { JsonValue } from '../lib/json.js';

/** google.protobuf.Struct as proto-loader decodes it (oneofs: true, keepCase: true). */
interface ProtoValue {
  kind?: string;
  nullValue?: unknown;
  null_value?: unknown;
  numberValue?: number;
  number_value?: number;
  stringValue?: string;
  string_value?: string;
  boolValue?: boolean;
  bool_value?: boolean;
  structValue?: ProtoStruct;
  struct_value?: ProtoStruct;
  listValue?: { values?: ProtoValue[] };
  list_value?: { values?: ProtoValue[] };
}
interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

/** Converts a decoded Struct to plain JSON, bounded by depth so a hostile Struct cannot overflow the stack. */
export function structToJson(struct: ProtoStruct, maxDepth: number): JsonValue {
  return convertStruct(struct, 1, maxDepth);
}

function convertStruct(struct: ProtoStruct, depth: number, maxDepth: number): JsonValue {
  if (depth > maxDepth) throw new GavelError('input_too_deep', `input_struct nests deeper than the limit of ${maxDepth}`);
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) out[key] = convertValue(value, depth, maxDepth);
  return out;
}

function convertValue(v: ProtoValue, depth: number, maxDepth: number): JsonValue {
  switch (v.kind) {
    case 'nullValue':
    case 'null_value':
      return null;
    case 'numberValue':
    case 'number_value':
      return v.numberValue ?? v.number_value ?? 0;
    case 'stringValue':
    case 'string_value':
      return v.stringValue ?? v.string_value ?? '';
    case 'boolValue':
    case 'bool_value':
      return v.boolValue ?? v.bool_value ?? false;
    case 'structValue':
    case 'struct_value':
      return convertStruct(v.structValue ?? v.struct_value ?? {}, depth + 1, maxDepth);
    case 'listValue':
    case 'list_value': {
      if (depth + 1 > maxDepth) throw new GavelError('input_too_deep', `input_struct nests deeper than the limit of ${maxDepth}`);
      return (v.listValue ?? v.list_value)?.values?.map((x) => convertValue(x, depth + 1, maxDepth)) ?? [];
    }
    default:
      return null;
  }
}
