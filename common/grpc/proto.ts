import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../../proto/generated/slipway.js';

/**
 * The options the proto is loaded with. `npm run proto:types` generates the committed types with
 * the same flags; change both together.
 */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

const PROTO_FILE = path.join('slipway', 'v1', 'slipway.proto');

/** The top-level proto/ folder: found by climbing from this file, compiled (dist/) or not. */
export function protoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (dir !== path.dirname(dir)) {
    const candidate = path.join(dir, 'proto');
    if (existsSync(path.join(candidate, PROTO_FILE))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`${PROTO_FILE} not found above ${fileURLToPath(import.meta.url)}`);
}

let definition: protoLoader.PackageDefinition | undefined;
let loaded: ProtoGrpcType | undefined;

/**
 * The `slipway.v1` package definition as proto-loader made it (loaded once): what the services
 * are built from, and what server reflection describes (its `fileDescriptorProtos`).
 */
export function slipwayPackageDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync(PROTO_FILE, { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] });
  return definition;
}

/** The loaded `slipway.v1` package (loaded once; it never changes at run time). */
export function slipwayProto(): ProtoGrpcType {
  loaded ??= grpc.loadPackageDefinition(slipwayPackageDefinition()) as unknown as ProtoGrpcType;
  return loaded;
}
