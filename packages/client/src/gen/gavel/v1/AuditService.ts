// Original file: proto/gavel/v1/audit.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { EraseRequest as _gavel_v1_EraseRequest, EraseRequest__Output as _gavel_v1_EraseRequest__Output } from '../../gavel/v1/EraseRequest.js';
import type { EraseResponse as _gavel_v1_EraseResponse, EraseResponse__Output as _gavel_v1_EraseResponse__Output } from '../../gavel/v1/EraseResponse.js';
import type { GetConsistencyProofRequest as _gavel_v1_GetConsistencyProofRequest, GetConsistencyProofRequest__Output as _gavel_v1_GetConsistencyProofRequest__Output } from '../../gavel/v1/GetConsistencyProofRequest.js';
import type { GetConsistencyProofResponse as _gavel_v1_GetConsistencyProofResponse, GetConsistencyProofResponse__Output as _gavel_v1_GetConsistencyProofResponse__Output } from '../../gavel/v1/GetConsistencyProofResponse.js';
import type { GetDecisionRequest as _gavel_v1_GetDecisionRequest, GetDecisionRequest__Output as _gavel_v1_GetDecisionRequest__Output } from '../../gavel/v1/GetDecisionRequest.js';
import type { GetDecisionResponse as _gavel_v1_GetDecisionResponse, GetDecisionResponse__Output as _gavel_v1_GetDecisionResponse__Output } from '../../gavel/v1/GetDecisionResponse.js';
import type { GetInclusionProofRequest as _gavel_v1_GetInclusionProofRequest, GetInclusionProofRequest__Output as _gavel_v1_GetInclusionProofRequest__Output } from '../../gavel/v1/GetInclusionProofRequest.js';
import type { GetInclusionProofResponse as _gavel_v1_GetInclusionProofResponse, GetInclusionProofResponse__Output as _gavel_v1_GetInclusionProofResponse__Output } from '../../gavel/v1/GetInclusionProofResponse.js';
import type { LatestCheckpointRequest as _gavel_v1_LatestCheckpointRequest, LatestCheckpointRequest__Output as _gavel_v1_LatestCheckpointRequest__Output } from '../../gavel/v1/LatestCheckpointRequest.js';
import type { LatestCheckpointResponse as _gavel_v1_LatestCheckpointResponse, LatestCheckpointResponse__Output as _gavel_v1_LatestCheckpointResponse__Output } from '../../gavel/v1/LatestCheckpointResponse.js';
import type { LedgerEntry as _gavel_v1_LedgerEntry, LedgerEntry__Output as _gavel_v1_LedgerEntry__Output } from '../../gavel/v1/LedgerEntry.js';
import type { QueryDecisionsRequest as _gavel_v1_QueryDecisionsRequest, QueryDecisionsRequest__Output as _gavel_v1_QueryDecisionsRequest__Output } from '../../gavel/v1/QueryDecisionsRequest.js';
import type { RecordOfflineRequest as _gavel_v1_RecordOfflineRequest, RecordOfflineRequest__Output as _gavel_v1_RecordOfflineRequest__Output } from '../../gavel/v1/RecordOfflineRequest.js';
import type { RecordOfflineResponse as _gavel_v1_RecordOfflineResponse, RecordOfflineResponse__Output as _gavel_v1_RecordOfflineResponse__Output } from '../../gavel/v1/RecordOfflineResponse.js';
import type { VerifyRequest as _gavel_v1_VerifyRequest, VerifyRequest__Output as _gavel_v1_VerifyRequest__Output } from '../../gavel/v1/VerifyRequest.js';
import type { VerifyResponse as _gavel_v1_VerifyResponse, VerifyResponse__Output as _gavel_v1_VerifyResponse__Output } from '../../gavel/v1/VerifyResponse.js';

export interface AuditServiceClient extends grpc.Client {
  Erase(argument: _gavel_v1_EraseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_EraseResponse__Output>): grpc.ClientUnaryCall;
  Erase(argument: _gavel_v1_EraseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_EraseResponse__Output>): grpc.ClientUnaryCall;
  Erase(argument: _gavel_v1_EraseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_EraseResponse__Output>): grpc.ClientUnaryCall;
  Erase(argument: _gavel_v1_EraseRequest, callback: grpc.requestCallback<_gavel_v1_EraseResponse__Output>): grpc.ClientUnaryCall;
  erase(argument: _gavel_v1_EraseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_EraseResponse__Output>): grpc.ClientUnaryCall;
  erase(argument: _gavel_v1_EraseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_EraseResponse__Output>): grpc.ClientUnaryCall;
  erase(argument: _gavel_v1_EraseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_EraseResponse__Output>): grpc.ClientUnaryCall;
  erase(argument: _gavel_v1_EraseRequest, callback: grpc.requestCallback<_gavel_v1_EraseResponse__Output>): grpc.ClientUnaryCall;
  
  GetConsistencyProof(argument: _gavel_v1_GetConsistencyProofRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetConsistencyProofResponse__Output>): grpc.ClientUnaryCall;
  GetConsistencyProof(argument: _gavel_v1_GetConsistencyProofRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_GetConsistencyProofResponse__Output>): grpc.ClientUnaryCall;
  GetConsistencyProof(argument: _gavel_v1_GetConsistencyProofRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetConsistencyProofResponse__Output>): grpc.ClientUnaryCall;
  GetConsistencyProof(argument: _gavel_v1_GetConsistencyProofRequest, callback: grpc.requestCallback<_gavel_v1_GetConsistencyProofResponse__Output>): grpc.ClientUnaryCall;
  getConsistencyProof(argument: _gavel_v1_GetConsistencyProofRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetConsistencyProofResponse__Output>): grpc.ClientUnaryCall;
  getConsistencyProof(argument: _gavel_v1_GetConsistencyProofRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_GetConsistencyProofResponse__Output>): grpc.ClientUnaryCall;
  getConsistencyProof(argument: _gavel_v1_GetConsistencyProofRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetConsistencyProofResponse__Output>): grpc.ClientUnaryCall;
  getConsistencyProof(argument: _gavel_v1_GetConsistencyProofRequest, callback: grpc.requestCallback<_gavel_v1_GetConsistencyProofResponse__Output>): grpc.ClientUnaryCall;
  
  GetDecision(argument: _gavel_v1_GetDecisionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetDecisionResponse__Output>): grpc.ClientUnaryCall;
  GetDecision(argument: _gavel_v1_GetDecisionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_GetDecisionResponse__Output>): grpc.ClientUnaryCall;
  GetDecision(argument: _gavel_v1_GetDecisionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetDecisionResponse__Output>): grpc.ClientUnaryCall;
  GetDecision(argument: _gavel_v1_GetDecisionRequest, callback: grpc.requestCallback<_gavel_v1_GetDecisionResponse__Output>): grpc.ClientUnaryCall;
  getDecision(argument: _gavel_v1_GetDecisionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetDecisionResponse__Output>): grpc.ClientUnaryCall;
  getDecision(argument: _gavel_v1_GetDecisionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_GetDecisionResponse__Output>): grpc.ClientUnaryCall;
  getDecision(argument: _gavel_v1_GetDecisionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetDecisionResponse__Output>): grpc.ClientUnaryCall;
  getDecision(argument: _gavel_v1_GetDecisionRequest, callback: grpc.requestCallback<_gavel_v1_GetDecisionResponse__Output>): grpc.ClientUnaryCall;
  
  GetInclusionProof(argument: _gavel_v1_GetInclusionProofRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetInclusionProofResponse__Output>): grpc.ClientUnaryCall;
  GetInclusionProof(argument: _gavel_v1_GetInclusionProofRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_GetInclusionProofResponse__Output>): grpc.ClientUnaryCall;
  GetInclusionProof(argument: _gavel_v1_GetInclusionProofRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetInclusionProofResponse__Output>): grpc.ClientUnaryCall;
  GetInclusionProof(argument: _gavel_v1_GetInclusionProofRequest, callback: grpc.requestCallback<_gavel_v1_GetInclusionProofResponse__Output>): grpc.ClientUnaryCall;
  getInclusionProof(argument: _gavel_v1_GetInclusionProofRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetInclusionProofResponse__Output>): grpc.ClientUnaryCall;
  getInclusionProof(argument: _gavel_v1_GetInclusionProofRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_GetInclusionProofResponse__Output>): grpc.ClientUnaryCall;
  getInclusionProof(argument: _gavel_v1_GetInclusionProofRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetInclusionProofResponse__Output>): grpc.ClientUnaryCall;
  getInclusionProof(argument: _gavel_v1_GetInclusionProofRequest, callback: grpc.requestCallback<_gavel_v1_GetInclusionProofResponse__Output>): grpc.ClientUnaryCall;
  
  LatestCheckpoint(argument: _gavel_v1_LatestCheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_LatestCheckpointResponse__Output>): grpc.ClientUnaryCall;
  LatestCheckpoint(argument: _gavel_v1_LatestCheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_LatestCheckpointResponse__Output>): grpc.ClientUnaryCall;
  LatestCheckpoint(argument: _gavel_v1_LatestCheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_LatestCheckpointResponse__Output>): grpc.ClientUnaryCall;
  LatestCheckpoint(argument: _gavel_v1_LatestCheckpointRequest, callback: grpc.requestCallback<_gavel_v1_LatestCheckpointResponse__Output>): grpc.ClientUnaryCall;
  latestCheckpoint(argument: _gavel_v1_LatestCheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_LatestCheckpointResponse__Output>): grpc.ClientUnaryCall;
  latestCheckpoint(argument: _gavel_v1_LatestCheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_LatestCheckpointResponse__Output>): grpc.ClientUnaryCall;
  latestCheckpoint(argument: _gavel_v1_LatestCheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_LatestCheckpointResponse__Output>): grpc.ClientUnaryCall;
  latestCheckpoint(argument: _gavel_v1_LatestCheckpointRequest, callback: grpc.requestCallback<_gavel_v1_LatestCheckpointResponse__Output>): grpc.ClientUnaryCall;
  
  QueryDecisions(argument: _gavel_v1_QueryDecisionsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gavel_v1_LedgerEntry__Output>;
  QueryDecisions(argument: _gavel_v1_QueryDecisionsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gavel_v1_LedgerEntry__Output>;
  queryDecisions(argument: _gavel_v1_QueryDecisionsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gavel_v1_LedgerEntry__Output>;
  queryDecisions(argument: _gavel_v1_QueryDecisionsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gavel_v1_LedgerEntry__Output>;
  
  RecordOffline(argument: _gavel_v1_RecordOfflineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_RecordOfflineResponse__Output>): grpc.ClientUnaryCall;
  RecordOffline(argument: _gavel_v1_RecordOfflineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_RecordOfflineResponse__Output>): grpc.ClientUnaryCall;
  RecordOffline(argument: _gavel_v1_RecordOfflineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_RecordOfflineResponse__Output>): grpc.ClientUnaryCall;
  RecordOffline(argument: _gavel_v1_RecordOfflineRequest, callback: grpc.requestCallback<_gavel_v1_RecordOfflineResponse__Output>): grpc.ClientUnaryCall;
  recordOffline(argument: _gavel_v1_RecordOfflineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_RecordOfflineResponse__Output>): grpc.ClientUnaryCall;
  recordOffline(argument: _gavel_v1_RecordOfflineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_RecordOfflineResponse__Output>): grpc.ClientUnaryCall;
  recordOffline(argument: _gavel_v1_RecordOfflineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_RecordOfflineResponse__Output>): grpc.ClientUnaryCall;
  recordOffline(argument: _gavel_v1_RecordOfflineRequest, callback: grpc.requestCallback<_gavel_v1_RecordOfflineResponse__Output>): grpc.ClientUnaryCall;
  
  Verify(argument: _gavel_v1_VerifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  Verify(argument: _gavel_v1_VerifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  Verify(argument: _gavel_v1_VerifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  Verify(argument: _gavel_v1_VerifyRequest, callback: grpc.requestCallback<_gavel_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  verify(argument: _gavel_v1_VerifyRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  verify(argument: _gavel_v1_VerifyRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  verify(argument: _gavel_v1_VerifyRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  verify(argument: _gavel_v1_VerifyRequest, callback: grpc.requestCallback<_gavel_v1_VerifyResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface AuditServiceHandlers extends grpc.UntypedServiceImplementation {
  Erase: grpc.handleUnaryCall<_gavel_v1_EraseRequest__Output, _gavel_v1_EraseResponse>;
  
  GetConsistencyProof: grpc.handleUnaryCall<_gavel_v1_GetConsistencyProofRequest__Output, _gavel_v1_GetConsistencyProofResponse>;
  
  GetDecision: grpc.handleUnaryCall<_gavel_v1_GetDecisionRequest__Output, _gavel_v1_GetDecisionResponse>;
  
  GetInclusionProof: grpc.handleUnaryCall<_gavel_v1_GetInclusionProofRequest__Output, _gavel_v1_GetInclusionProofResponse>;
  
  LatestCheckpoint: grpc.handleUnaryCall<_gavel_v1_LatestCheckpointRequest__Output, _gavel_v1_LatestCheckpointResponse>;
  
  QueryDecisions: grpc.handleServerStreamingCall<_gavel_v1_QueryDecisionsRequest__Output, _gavel_v1_LedgerEntry>;
  
  RecordOffline: grpc.handleUnaryCall<_gavel_v1_RecordOfflineRequest__Output, _gavel_v1_RecordOfflineResponse>;
  
  Verify: grpc.handleUnaryCall<_gavel_v1_VerifyRequest__Output, _gavel_v1_VerifyResponse>;
  
}

export interface AuditServiceDefinition extends grpc.ServiceDefinition {
  Erase: MethodDefinition<_gavel_v1_EraseRequest, _gavel_v1_EraseResponse, _gavel_v1_EraseRequest__Output, _gavel_v1_EraseResponse__Output>
  GetConsistencyProof: MethodDefinition<_gavel_v1_GetConsistencyProofRequest, _gavel_v1_GetConsistencyProofResponse, _gavel_v1_GetConsistencyProofRequest__Output, _gavel_v1_GetConsistencyProofResponse__Output>
  GetDecision: MethodDefinition<_gavel_v1_GetDecisionRequest, _gavel_v1_GetDecisionResponse, _gavel_v1_GetDecisionRequest__Output, _gavel_v1_GetDecisionResponse__Output>
  GetInclusionProof: MethodDefinition<_gavel_v1_GetInclusionProofRequest, _gavel_v1_GetInclusionProofResponse, _gavel_v1_GetInclusionProofRequest__Output, _gavel_v1_GetInclusionProofResponse__Output>
  LatestCheckpoint: MethodDefinition<_gavel_v1_LatestCheckpointRequest, _gavel_v1_LatestCheckpointResponse, _gavel_v1_LatestCheckpointRequest__Output, _gavel_v1_LatestCheckpointResponse__Output>
  QueryDecisions: MethodDefinition<_gavel_v1_QueryDecisionsRequest, _gavel_v1_LedgerEntry, _gavel_v1_QueryDecisionsRequest__Output, _gavel_v1_LedgerEntry__Output>
  RecordOffline: MethodDefinition<_gavel_v1_RecordOfflineRequest, _gavel_v1_RecordOfflineResponse, _gavel_v1_RecordOfflineRequest__Output, _gavel_v1_RecordOfflineResponse__Output>
  Verify: MethodDefinition<_gavel_v1_VerifyRequest, _gavel_v1_VerifyResponse, _gavel_v1_VerifyRequest__Output, _gavel_v1_VerifyResponse__Output>
}
