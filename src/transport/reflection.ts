import { createRequire } from 'node:module';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

/**
 * The descriptors server reflection publishes: gavel's services plus
 * grpc.health.v1.Health (the server answers it, so `grpcurl list` shows it and
 * `grpcurl … grpc.health.v1.Health/Check` needs no proto file), repaired for
 * protobuf-go clients such as grpcurl. protobufjs (behind proto-loader) writes
 * one file per package without `dependency` entries, and names a map's
 * implicit entry message "Fields" where protoc (and protobuf-go's validation)
 * require "FieldsEntry"; grpcurl then cannot resolve google.protobuf.Struct.
 * This fixes both in the encoded FileDescriptorProtos and leaves everything
 * else as is.
 */
const require = createRequire(import.meta.url);
const protobuf = require('protobufjs') as typeof import('protobufjs');
const FileDescriptorProto = protobuf.Root.fromJSON(require('protobufjs/google/protobuf/descriptor.json')).lookupType('google.protobuf.FileDescriptorProto');

interface Field {
  name: string;
  typeName?: string;
  label?: number;
}
interface Message {
  name: string;
  field?: Field[];
  nestedType?: Array<Message & { options?: { mapEntry?: boolean } }>;
}
interface FileDescriptor {
  name: string;
  package: string;
  dependency?: string[];
  messageType?: Message[];
}

/** A copy of `definition` with the health service added and file descriptors repaired; `definition` itself is not changed. */
export function reflectionDefinition(gavel: PackageDefinition): PackageDefinition {
  const definition: PackageDefinition = { ...loadSync(healthProtoPath, { keepCase: true }), ...gavel };
  const files = new Map<string, FileDescriptor>();
  for (const value of Object.values(definition)) {
    for (const bytes of (value as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? []) {
      const file = FileDescriptorProto.toObject(FileDescriptorProto.decode(bytes)) as FileDescriptor;
      if (!files.has(file.name)) files.set(file.name, file);
    }
  }
  const repaired = new Map<string, Buffer>();
  for (const file of files.values()) {
    for (const message of file.messageType ?? []) renameMapEntries(message, `.${file.package}.${message.name}`);
    file.dependency = dependenciesOf(file, files);
    repaired.set(file.name, Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromObject(file)).finish()));
  }
  const nameOf = (bytes: Buffer) => (FileDescriptorProto.decode(bytes) as unknown as FileDescriptor).name;
  return Object.fromEntries(
    Object.entries(definition).map(([symbol, value]) => {
      const protos = (value as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
      if (!protos) return [symbol, value];
      return [symbol, { ...value, fileDescriptorProtos: protos.map((bytes) => repaired.get(nameOf(bytes)) ?? bytes) }];
    }),
  ) as PackageDefinition;
}

function renameMapEntries(message: Message, fullName: string): void {
  for (const nested of message.nestedType ?? []) {
    if (!nested.options?.mapEntry) continue;
    // protobufjs writes the reference relative to the message ("Fields"); accept the full form too.
    const old = [nested.name, `${fullName}.${nested.name}`];
    const fields = (message.field ?? []).filter((f) => f.typeName && old.includes(f.typeName));
    if (fields.length !== 1) continue;
    // protoc's name, which protobuf-go checks: the field's name in CamelCase plus "Entry" (reasons_added: ReasonsAddedEntry).
    nested.name = `${camel(fields[0]!.name)}Entry`;
    fields[0]!.typeName = `${fullName}.${nested.name}`;
  }
}

/** protoc's ToCamelCase with the first letter capitalised: underscores dropped, the letter after each upper-cased. */
function camel(field: string): string {
  return field
    .split('_')
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/** Every other file whose package a field of this file refers to. */
function dependenciesOf(file: FileDescriptor, files: Map<string, FileDescriptor>): string[] {
  const used = new Set<string>();
  const visit = (m: Message) => {
    for (const f of m.field ?? []) if (f.typeName) used.add(f.typeName);
    (m.nestedType ?? []).forEach(visit);
  };
  (file.messageType ?? []).forEach(visit);
  // References may be relative ("google.protobuf.Struct") or absolute (".google.protobuf.Struct").
  const names = [...used].map((t) => t.replace(/^\./, ''));
  const deps = [...files.values()].filter((other) => other !== file && names.some((t) => t.startsWith(`${other.package}.`)));
  return deps.map((d) => d.name);
}
