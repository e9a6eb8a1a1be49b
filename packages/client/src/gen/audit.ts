import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AuditServiceClient as _gavel_v1_AuditServiceClient, AuditServiceDefinition as _gavel_v1_AuditServiceDefinition } from './gavel/v1/AuditService.js';
import type { DecideRequest as _gavel_v1_DecideRequest, DecideRequest__Output as _gavel_v1_DecideRequest__Output } from './gavel/v1/DecideRequest.js';
import type { DecideResponse as _gavel_v1_DecideResponse, DecideResponse__Output as _gavel_v1_DecideResponse__Output } from './gavel/v1/DecideResponse.js';
import type { DecideStreamRequest as _gavel_v1_DecideStreamRequest, DecideStreamRequest__Output as _gavel_v1_DecideStreamRequest__Output } from './gavel/v1/DecideStreamRequest.js';
import type { DecideStreamResponse as _gavel_v1_DecideStreamResponse, DecideStreamResponse__Output as _gavel_v1_DecideStreamResponse__Output } from './gavel/v1/DecideStreamResponse.js';
import type { DecisionApproval as _gavel_v1_DecisionApproval, DecisionApproval__Output as _gavel_v1_DecisionApproval__Output } from './gavel/v1/DecisionApproval.js';
import type { DecisionServiceClient as _gavel_v1_DecisionServiceClient, DecisionServiceDefinition as _gavel_v1_DecisionServiceDefinition } from './gavel/v1/DecisionService.js';
import type { EraseRequest as _gavel_v1_EraseRequest, EraseRequest__Output as _gavel_v1_EraseRequest__Output } from './gavel/v1/EraseRequest.js';
import type { EraseResponse as _gavel_v1_EraseResponse, EraseResponse__Output as _gavel_v1_EraseResponse__Output } from './gavel/v1/EraseResponse.js';
import type { GetConsistencyProofRequest as _gavel_v1_GetConsistencyProofRequest, GetConsistencyProofRequest__Output as _gavel_v1_GetConsistencyProofRequest__Output } from './gavel/v1/GetConsistencyProofRequest.js';
import type { GetConsistencyProofResponse as _gavel_v1_GetConsistencyProofResponse, GetConsistencyProofResponse__Output as _gavel_v1_GetConsistencyProofResponse__Output } from './gavel/v1/GetConsistencyProofResponse.js';
import type { GetDecisionRequest as _gavel_v1_GetDecisionRequest, GetDecisionRequest__Output as _gavel_v1_GetDecisionRequest__Output } from './gavel/v1/GetDecisionRequest.js';
import type { GetDecisionResponse as _gavel_v1_GetDecisionResponse, GetDecisionResponse__Output as _gavel_v1_GetDecisionResponse__Output } from './gavel/v1/GetDecisionResponse.js';
import type { GetInclusionProofRequest as _gavel_v1_GetInclusionProofRequest, GetInclusionProofRequest__Output as _gavel_v1_GetInclusionProofRequest__Output } from './gavel/v1/GetInclusionProofRequest.js';
import type { GetInclusionProofResponse as _gavel_v1_GetInclusionProofResponse, GetInclusionProofResponse__Output as _gavel_v1_GetInclusionProofResponse__Output } from './gavel/v1/GetInclusionProofResponse.js';
import type { LatestCheckpointRequest as _gavel_v1_LatestCheckpointRequest, LatestCheckpointRequest__Output as _gavel_v1_LatestCheckpointRequest__Output } from './gavel/v1/LatestCheckpointRequest.js';
import type { LatestCheckpointResponse as _gavel_v1_LatestCheckpointResponse, LatestCheckpointResponse__Output as _gavel_v1_LatestCheckpointResponse__Output } from './gavel/v1/LatestCheckpointResponse.js';
import type { LedgerEntry as _gavel_v1_LedgerEntry, LedgerEntry__Output as _gavel_v1_LedgerEntry__Output } from './gavel/v1/LedgerEntry.js';
import type { LedgerReceipt as _gavel_v1_LedgerReceipt, LedgerReceipt__Output as _gavel_v1_LedgerReceipt__Output } from './gavel/v1/LedgerReceipt.js';
import type { PolicyVersion as _gavel_v1_PolicyVersion, PolicyVersion__Output as _gavel_v1_PolicyVersion__Output } from './gavel/v1/PolicyVersion.js';
import type { QueryDecisionsRequest as _gavel_v1_QueryDecisionsRequest, QueryDecisionsRequest__Output as _gavel_v1_QueryDecisionsRequest__Output } from './gavel/v1/QueryDecisionsRequest.js';
import type { Reason as _gavel_v1_Reason, Reason__Output as _gavel_v1_Reason__Output } from './gavel/v1/Reason.js';
import type { RecordOfflineRequest as _gavel_v1_RecordOfflineRequest, RecordOfflineRequest__Output as _gavel_v1_RecordOfflineRequest__Output } from './gavel/v1/RecordOfflineRequest.js';
import type { RecordOfflineResponse as _gavel_v1_RecordOfflineResponse, RecordOfflineResponse__Output as _gavel_v1_RecordOfflineResponse__Output } from './gavel/v1/RecordOfflineResponse.js';
import type { Redaction as _gavel_v1_Redaction, Redaction__Output as _gavel_v1_Redaction__Output } from './gavel/v1/Redaction.js';
import type { SeqRange as _gavel_v1_SeqRange, SeqRange__Output as _gavel_v1_SeqRange__Output } from './gavel/v1/SeqRange.js';
import type { StateMismatch as _gavel_v1_StateMismatch, StateMismatch__Output as _gavel_v1_StateMismatch__Output } from './gavel/v1/StateMismatch.js';
import type { StreamError as _gavel_v1_StreamError, StreamError__Output as _gavel_v1_StreamError__Output } from './gavel/v1/StreamError.js';
import type { VerifyRequest as _gavel_v1_VerifyRequest, VerifyRequest__Output as _gavel_v1_VerifyRequest__Output } from './gavel/v1/VerifyRequest.js';
import type { VerifyResponse as _gavel_v1_VerifyResponse, VerifyResponse__Output as _gavel_v1_VerifyResponse__Output } from './gavel/v1/VerifyResponse.js';
import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from './google/protobuf/ListValue.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from './google/protobuf/Struct.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from './google/protobuf/Value.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gavel: {
    v1: {
      ApprovalState: EnumTypeDefinition
      AuditService: SubtypeConstructor<typeof grpc.Client, _gavel_v1_AuditServiceClient> & { service: _gavel_v1_AuditServiceDefinition }
      DecideRequest: MessageTypeDefinition<_gavel_v1_DecideRequest, _gavel_v1_DecideRequest__Output>
      DecideResponse: MessageTypeDefinition<_gavel_v1_DecideResponse, _gavel_v1_DecideResponse__Output>
      DecideStreamRequest: MessageTypeDefinition<_gavel_v1_DecideStreamRequest, _gavel_v1_DecideStreamRequest__Output>
      DecideStreamResponse: MessageTypeDefinition<_gavel_v1_DecideStreamResponse, _gavel_v1_DecideStreamResponse__Output>
      Decision: EnumTypeDefinition
      DecisionApproval: MessageTypeDefinition<_gavel_v1_DecisionApproval, _gavel_v1_DecisionApproval__Output>
      DecisionService: SubtypeConstructor<typeof grpc.Client, _gavel_v1_DecisionServiceClient> & { service: _gavel_v1_DecisionServiceDefinition }
      EntryKind: EnumTypeDefinition
      EraseRequest: MessageTypeDefinition<_gavel_v1_EraseRequest, _gavel_v1_EraseRequest__Output>
      EraseResponse: MessageTypeDefinition<_gavel_v1_EraseResponse, _gavel_v1_EraseResponse__Output>
      GetConsistencyProofRequest: MessageTypeDefinition<_gavel_v1_GetConsistencyProofRequest, _gavel_v1_GetConsistencyProofRequest__Output>
      GetConsistencyProofResponse: MessageTypeDefinition<_gavel_v1_GetConsistencyProofResponse, _gavel_v1_GetConsistencyProofResponse__Output>
      GetDecisionRequest: MessageTypeDefinition<_gavel_v1_GetDecisionRequest, _gavel_v1_GetDecisionRequest__Output>
      GetDecisionResponse: MessageTypeDefinition<_gavel_v1_GetDecisionResponse, _gavel_v1_GetDecisionResponse__Output>
      GetInclusionProofRequest: MessageTypeDefinition<_gavel_v1_GetInclusionProofRequest, _gavel_v1_GetInclusionProofRequest__Output>
      GetInclusionProofResponse: MessageTypeDefinition<_gavel_v1_GetInclusionProofResponse, _gavel_v1_GetInclusionProofResponse__Output>
      LatestCheckpointRequest: MessageTypeDefinition<_gavel_v1_LatestCheckpointRequest, _gavel_v1_LatestCheckpointRequest__Output>
      LatestCheckpointResponse: MessageTypeDefinition<_gavel_v1_LatestCheckpointResponse, _gavel_v1_LatestCheckpointResponse__Output>
      LedgerEntry: MessageTypeDefinition<_gavel_v1_LedgerEntry, _gavel_v1_LedgerEntry__Output>
      LedgerReceipt: MessageTypeDefinition<_gavel_v1_LedgerReceipt, _gavel_v1_LedgerReceipt__Output>
      MismatchProblem: EnumTypeDefinition
      OfflineMode: EnumTypeDefinition
      PolicyVersion: MessageTypeDefinition<_gavel_v1_PolicyVersion, _gavel_v1_PolicyVersion__Output>
      QueryDecisionsRequest: MessageTypeDefinition<_gavel_v1_QueryDecisionsRequest, _gavel_v1_QueryDecisionsRequest__Output>
      Reason: MessageTypeDefinition<_gavel_v1_Reason, _gavel_v1_Reason__Output>
      RecordOfflineRequest: MessageTypeDefinition<_gavel_v1_RecordOfflineRequest, _gavel_v1_RecordOfflineRequest__Output>
      RecordOfflineResponse: MessageTypeDefinition<_gavel_v1_RecordOfflineResponse, _gavel_v1_RecordOfflineResponse__Output>
      Redaction: MessageTypeDefinition<_gavel_v1_Redaction, _gavel_v1_Redaction__Output>
      SeqRange: MessageTypeDefinition<_gavel_v1_SeqRange, _gavel_v1_SeqRange__Output>
      StateMismatch: MessageTypeDefinition<_gavel_v1_StateMismatch, _gavel_v1_StateMismatch__Output>
      StreamError: MessageTypeDefinition<_gavel_v1_StreamError, _gavel_v1_StreamError__Output>
      VerifyRequest: MessageTypeDefinition<_gavel_v1_VerifyRequest, _gavel_v1_VerifyRequest__Output>
      VerifyResponse: MessageTypeDefinition<_gavel_v1_VerifyResponse, _gavel_v1_VerifyResponse__Output>
    }
  }
  google: {
    protobuf: {
      ListValue: MessageTypeDefinition<_google_protobuf_ListValue, _google_protobuf_ListValue__Output>
      NullValue: EnumTypeDefinition
      Struct: MessageTypeDefinition<_google_protobuf_Struct, _google_protobuf_Struct__Output>
      Value: MessageTypeDefinition<_google_protobuf_Value, _google_protobuf_Value__Output>
    }
  }
}

