// Original file: proto/gavel/v1/audit.proto


export interface LatestCheckpointRequest {
}

export interface LatestCheckpointRequest__Output {
}
