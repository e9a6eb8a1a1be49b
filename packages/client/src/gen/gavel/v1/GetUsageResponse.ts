// Original file: proto/gavel/v1/usage.proto


export interface GetUsageResponse {
  'usage_json'?: (Buffer | Uint8Array | string);
}

export interface GetUsageResponse__Output {
  'usage_json': (Buffer);
}
