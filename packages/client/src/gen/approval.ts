import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Approval as _gavel_v1_Approval, Approval__Output as _gavel_v1_Approval__Output } from './gavel/v1/Approval.js';
import type { ApprovalServiceClient as _gavel_v1_ApprovalServiceClient, ApprovalServiceDefinition as _gavel_v1_ApprovalServiceDefinition } from './gavel/v1/ApprovalService.js';
import type { ApprovalVote as _gavel_v1_ApprovalVote, ApprovalVote__Output as _gavel_v1_ApprovalVote__Output } from './gavel/v1/ApprovalVote.js';
import type { Approver as _gavel_v1_Approver, Approver__Output as _gavel_v1_Approver__Output } from './gavel/v1/Approver.js';
import type { DecideRequest as _gavel_v1_DecideRequest, DecideRequest__Output as _gavel_v1_DecideRequest__Output } from './gavel/v1/DecideRequest.js';
import type { DecideResponse as _gavel_v1_DecideResponse, DecideResponse__Output as _gavel_v1_DecideResponse__Output } from './gavel/v1/DecideResponse.js';
import type { DecideStreamRequest as _gavel_v1_DecideStreamRequest, DecideStreamRequest__Output as _gavel_v1_DecideStreamRequest__Output } from './gavel/v1/DecideStreamRequest.js';
import type { DecideStreamResponse as _gavel_v1_DecideStreamResponse, DecideStreamResponse__Output as _gavel_v1_DecideStreamResponse__Output } from './gavel/v1/DecideStreamResponse.js';
import type { DecisionApproval as _gavel_v1_DecisionApproval, DecisionApproval__Output as _gavel_v1_DecisionApproval__Output } from './gavel/v1/DecisionApproval.js';
import type { DecisionServiceClient as _gavel_v1_DecisionServiceClient, DecisionServiceDefinition as _gavel_v1_DecisionServiceDefinition } from './gavel/v1/DecisionService.js';
import type { GetApprovalRequest as _gavel_v1_GetApprovalRequest, GetApprovalRequest__Output as _gavel_v1_GetApprovalRequest__Output } from './gavel/v1/GetApprovalRequest.js';
import type { LedgerReceipt as _gavel_v1_LedgerReceipt, LedgerReceipt__Output as _gavel_v1_LedgerReceipt__Output } from './gavel/v1/LedgerReceipt.js';
import type { ListApprovalsRequest as _gavel_v1_ListApprovalsRequest, ListApprovalsRequest__Output as _gavel_v1_ListApprovalsRequest__Output } from './gavel/v1/ListApprovalsRequest.js';
import type { ListApprovalsResponse as _gavel_v1_ListApprovalsResponse, ListApprovalsResponse__Output as _gavel_v1_ListApprovalsResponse__Output } from './gavel/v1/ListApprovalsResponse.js';
import type { PolicyVersion as _gavel_v1_PolicyVersion, PolicyVersion__Output as _gavel_v1_PolicyVersion__Output } from './gavel/v1/PolicyVersion.js';
import type { Reason as _gavel_v1_Reason, Reason__Output as _gavel_v1_Reason__Output } from './gavel/v1/Reason.js';
import type { Redaction as _gavel_v1_Redaction, Redaction__Output as _gavel_v1_Redaction__Output } from './gavel/v1/Redaction.js';
import type { ResolveRequest as _gavel_v1_ResolveRequest, ResolveRequest__Output as _gavel_v1_ResolveRequest__Output } from './gavel/v1/ResolveRequest.js';
import type { StreamError as _gavel_v1_StreamError, StreamError__Output as _gavel_v1_StreamError__Output } from './gavel/v1/StreamError.js';
import type { WatchApprovalRequest as _gavel_v1_WatchApprovalRequest, WatchApprovalRequest__Output as _gavel_v1_WatchApprovalRequest__Output } from './gavel/v1/WatchApprovalRequest.js';
import type { ListValue as _google_protobuf_ListValue, ListValue__Output as _google_protobuf_ListValue__Output } from './google/protobuf/ListValue.js';
import type { Struct as _google_protobuf_Struct, Struct__Output as _google_protobuf_Struct__Output } from './google/protobuf/Struct.js';
import type { Value as _google_protobuf_Value, Value__Output as _google_protobuf_Value__Output } from './google/protobuf/Value.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gavel: {
    v1: {
      Approval: MessageTypeDefinition<_gavel_v1_Approval, _gavel_v1_Approval__Output>
      ApprovalService: SubtypeConstructor<typeof grpc.Client, _gavel_v1_ApprovalServiceClient> & { service: _gavel_v1_ApprovalServiceDefinition }
      ApprovalState: EnumTypeDefinition
      ApprovalVote: MessageTypeDefinition<_gavel_v1_ApprovalVote, _gavel_v1_ApprovalVote__Output>
      Approver: MessageTypeDefinition<_gavel_v1_Approver, _gavel_v1_Approver__Output>
      DecideRequest: MessageTypeDefinition<_gavel_v1_DecideRequest, _gavel_v1_DecideRequest__Output>
      DecideResponse: MessageTypeDefinition<_gavel_v1_DecideResponse, _gavel_v1_DecideResponse__Output>
      DecideStreamRequest: MessageTypeDefinition<_gavel_v1_DecideStreamRequest, _gavel_v1_DecideStreamRequest__Output>
      DecideStreamResponse: MessageTypeDefinition<_gavel_v1_DecideStreamResponse, _gavel_v1_DecideStreamResponse__Output>
      Decision: EnumTypeDefinition
      DecisionApproval: MessageTypeDefinition<_gavel_v1_DecisionApproval, _gavel_v1_DecisionApproval__Output>
      DecisionService: SubtypeConstructor<typeof grpc.Client, _gavel_v1_DecisionServiceClient> & { service: _gavel_v1_DecisionServiceDefinition }
      GetApprovalRequest: MessageTypeDefinition<_gavel_v1_GetApprovalRequest, _gavel_v1_GetApprovalRequest__Output>
      LedgerReceipt: MessageTypeDefinition<_gavel_v1_LedgerReceipt, _gavel_v1_LedgerReceipt__Output>
      ListApprovalsRequest: MessageTypeDefinition<_gavel_v1_ListApprovalsRequest, _gavel_v1_ListApprovalsRequest__Output>
      ListApprovalsResponse: MessageTypeDefinition<_gavel_v1_ListApprovalsResponse, _gavel_v1_ListApprovalsResponse__Output>
      PolicyVersion: MessageTypeDefinition<_gavel_v1_PolicyVersion, _gavel_v1_PolicyVersion__Output>
      Reason: MessageTypeDefinition<_gavel_v1_Reason, _gavel_v1_Reason__Output>
      Redaction: MessageTypeDefinition<_gavel_v1_Redaction, _gavel_v1_Redaction__Output>
      ResolveRequest: MessageTypeDefinition<_gavel_v1_ResolveRequest, _gavel_v1_ResolveRequest__Output>
      StreamError: MessageTypeDefinition<_gavel_v1_StreamError, _gavel_v1_StreamError__Output>
      Verdict: EnumTypeDefinition
      WatchApprovalRequest: MessageTypeDefinition<_gavel_v1_WatchApprovalRequest, _gavel_v1_WatchApprovalRequest__Output>
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

