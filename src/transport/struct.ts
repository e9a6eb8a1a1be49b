import { createRequire } from 'node:module';
import type { MethodDefinition, PackageDefinition } from '@grpc/proto-loader';
import type { Reader as ReaderType } from 'protobufjs';
import { GavelError, isGavelError } from '../lib/errors.js';
import type { JsonObject, JsonValue } from '../lib/json.js';

const require = createRequire(import.meta.url);
const { Reader } = require('protobufjs/minimal') as typeof import('protobufjs');

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

/**
 * Converts a Struct to plain JSON, bounded by depth so a hostile Struct cannot
 * overflow the stack. A request decoded through `withEncodedStructs` carries
 * the Struct still encoded (bytes): it is decoded here, where nesting past
 * `maxDepth` is gavel's `input_too_deep` rather than a decoder failure.
 */
export function structToJson(struct: Uint8Array | ProtoStruct, maxDepth: number): JsonValue {
  if (!(struct instanceof Uint8Array)) return convertStruct(struct, 1, maxDepth);
  try {
    const r = Reader.create(struct);
    return readStruct(r, r.len, 1, maxDepth);
  } catch (err) {
    if (isGavelError(err)) throw err;
    throw new GavelError('invalid_input', 'input_struct is not a valid google.protobuf.Struct');
  }
}

function tooDeep(maxDepth: number): GavelError {
  return new GavelError('input_too_deep', `input_struct nests deeper than the limit of ${maxDepth}`);
}

function convertStruct(struct: ProtoStruct, depth: number, maxDepth: number): JsonValue {
  if (depth > maxDepth) throw tooDeep(maxDepth);
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(struct.fields ?? {})) setKey(out, key, convertValue(value, depth, maxDepth));
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
      if (depth + 1 > maxDepth) throw tooDeep(maxDepth);
      return (v.listValue ?? v.list_value)?.values?.map((x) => convertValue(x, depth + 1, maxDepth)) ?? [];
    }
    default:
      return null;
  }
}

/** An own, enumerable key even when it is "__proto__" (as JSON.parse makes it). */
function setKey(out: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

// Wire tags (field number << 3 | wire type) of struct.proto's messages.
const STRUCT_FIELDS = 0x0a; // Struct.fields = 1, map entry
const ENTRY_KEY = 0x0a; // FieldsEntry.key = 1
const ENTRY_VALUE = 0x12; // FieldsEntry.value = 2
const VALUE_NULL = 0x08; // Value.null_value = 1, enum
const VALUE_NUMBER = 0x11; // Value.number_value = 2, double
const VALUE_STRING = 0x1a; // Value.string_value = 3
const VALUE_BOOL = 0x20; // Value.bool_value = 4
const VALUE_STRUCT = 0x2a; // Value.struct_value = 5
const VALUE_LIST = 0x32; // Value.list_value = 6
const LIST_VALUES = 0x0a; // ListValue.values = 1

/** The end of the length-delimited field starting at the reader's position; it must lie within `end`. */
function nestedEnd(r: ReaderType, end: number): number {
  const length = r.uint32();
  const to = r.pos + length;
  if (to > end) throw new RangeError('nested field overruns its message');
  return to;
}

/** After a nested message: it must have ended exactly where its length said. */
function ended(r: ReaderType, end: number): void {
  if (r.pos !== end) throw new RangeError('nested field overruns its message');
}

function readStruct(r: ReaderType, end: number, depth: number, maxDepth: number): JsonObject {
  if (depth > maxDepth) throw tooDeep(maxDepth);
  const out: JsonObject = {};
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag !== STRUCT_FIELDS) {
      r.skipType(tag & 7);
      continue;
    }
    const entryEnd = nestedEnd(r, end);
    let key = '';
    let value: JsonValue = null;
    while (r.pos < entryEnd) {
      const t = r.uint32();
      if (t === ENTRY_KEY) key = r.string();
      else if (t === ENTRY_VALUE) {
        const valueEnd = nestedEnd(r, entryEnd);
        value = readValue(r, valueEnd, depth, maxDepth);
        ended(r, valueEnd);
      } else r.skipType(t & 7);
    }
    ended(r, entryEnd);
    setKey(out, key, value);
  }
  return out;
}

/** A Value at the depth of its container; a struct or list inside it is one level deeper. */
function readValue(r: ReaderType, end: number, depth: number, maxDepth: number): JsonValue {
  let value: JsonValue = null;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case VALUE_NULL:
        r.int32();
        value = null;
        break;
      case VALUE_NUMBER:
        value = r.double();
        break;
      case VALUE_STRING:
        value = r.string();
        break;
      case VALUE_BOOL:
        value = r.bool();
        break;
      case VALUE_STRUCT: {
        const to = nestedEnd(r, end);
        value = readStruct(r, to, depth + 1, maxDepth);
        ended(r, to);
        break;
      }
      case VALUE_LIST: {
        const to = nestedEnd(r, end);
        value = readList(r, to, depth + 1, maxDepth);
        ended(r, to);
        break;
      }
      default:
        r.skipType(tag & 7);
    }
  }
  return value;
}

function readList(r: ReaderType, end: number, depth: number, maxDepth: number): JsonValue[] {
  if (depth > maxDepth) throw tooDeep(maxDepth);
  const out: JsonValue[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag !== LIST_VALUES) {
      r.skipType(tag & 7);
      continue;
    }
    const to = nestedEnd(r, end);
    out.push(readValue(r, to, depth, maxDepth));
    ended(r, to);
  }
  return out;
}

const STRUCT_TYPE = /^\.?google\.protobuf\.Struct$/;

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

/**
 * A copy of `definition` whose request deserializers keep every singular
 * google.protobuf.Struct field of a request encoded (as bytes), for
 * `structToJson` to decode under the server's depth limit.
 *
 * protobufjs refuses messages nested deeper than 100 (Struct -> Value -> Struct
 * counts two per level, so ~50 JSON levels), and grpc-js turns a deserializer
 * failure into a bare INTERNAL before any handler runs. Here the top-level
 * request is decoded as before, with each Struct field replaced by an empty
 * one (so oneof cases are set as usual); its bytes are then put back.
 */
export function withEncodedStructs(definition: PackageDefinition): PackageDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([name, entry]) => {
      if (typeof entry !== 'object' || entry === null || 'format' in entry) return [name, entry];
      const service = entry as Record<string, MethodDefinition<unknown, unknown>>;
      return [name, Object.fromEntries(Object.entries(service).map(([method, m]) => [method, withEncodedStructFields(m)]))];
    }),
  ) as PackageDefinition;
}

function withEncodedStructFields(method: MethodDefinition<unknown, unknown>): MethodDefinition<unknown, unknown> {
  const fields = ((method.requestType as { type?: { field?: FieldDescriptor[] } }).type?.field ?? []).filter(
    (f) => f.type === 'TYPE_MESSAGE' && f.label !== 'LABEL_REPEATED' && STRUCT_TYPE.test(f.typeName),
  );
  if (fields.length === 0) return method;
  const byNumber = new Map(fields.map((f) => [f.number, f.name]));
  const decode = method.requestDeserialize;
  return {
    ...method,
    requestDeserialize: (bytes: Buffer) => {
      const r = Reader.create(bytes);
      const kept: Uint8Array[] = [];
      const structs = new Map<string, Uint8Array[]>();
      while (r.pos < r.len) {
        const start = r.pos;
        const tag = r.uint32();
        const name = byNumber.get(tag >>> 3);
        if (name !== undefined && (tag & 7) === 2) {
          const tagBytes = bytes.subarray(start, r.pos);
          // Occurrences of a singular message field merge: their encodings concatenate.
          structs.set(name, [...(structs.get(name) ?? []), r.bytes()]);
          kept.push(tagBytes, EMPTY_LENGTH);
        } else {
          r.skipType(tag & 7);
          kept.push(bytes.subarray(start, r.pos));
        }
      }
      const message = decode(Buffer.concat(kept)) as Record<string, unknown>;
      for (const [name, parts] of structs) if (message[name] !== undefined && message[name] !== null) message[name] = Buffer.concat(parts);
      return message;
    },
  };
}

const EMPTY_LENGTH = Uint8Array.of(0);
