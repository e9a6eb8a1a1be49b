// Original file: proto/gavel/v1/approval.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Approval as _gavel_v1_Approval, Approval__Output as _gavel_v1_Approval__Output } from '../../gavel/v1/Approval.js';
import type { GetApprovalRequest as _gavel_v1_GetApprovalRequest, GetApprovalRequest__Output as _gavel_v1_GetApprovalRequest__Output } from '../../gavel/v1/GetApprovalRequest.js';
import type { ListApprovalsRequest as _gavel_v1_ListApprovalsRequest, ListApprovalsRequest__Output as _gavel_v1_ListApprovalsRequest__Output } from '../../gavel/v1/ListApprovalsRequest.js';
import type { ListApprovalsResponse as _gavel_v1_ListApprovalsResponse, ListApprovalsResponse__Output as _gavel_v1_ListApprovalsResponse__Output } from '../../gavel/v1/ListApprovalsResponse.js';
import type { ResolveRequest as _gavel_v1_ResolveRequest, ResolveRequest__Output as _gavel_v1_ResolveRequest__Output } from '../../gavel/v1/ResolveRequest.js';
import type { WatchApprovalRequest as _gavel_v1_WatchApprovalRequest, WatchApprovalRequest__Output as _gavel_v1_WatchApprovalRequest__Output } from '../../gavel/v1/WatchApprovalRequest.js';

export interface ApprovalServiceClient extends grpc.Client {
  GetApproval(argument: _gavel_v1_GetApprovalRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  GetApproval(argument: _gavel_v1_GetApprovalRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  GetApproval(argument: _gavel_v1_GetApprovalRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  GetApproval(argument: _gavel_v1_GetApprovalRequest, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  getApproval(argument: _gavel_v1_GetApprovalRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  getApproval(argument: _gavel_v1_GetApprovalRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  getApproval(argument: _gavel_v1_GetApprovalRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  getApproval(argument: _gavel_v1_GetApprovalRequest, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  
  ListApprovals(argument: _gavel_v1_ListApprovalsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_ListApprovalsResponse__Output>): grpc.ClientUnaryCall;
  ListApprovals(argument: _gavel_v1_ListApprovalsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_ListApprovalsResponse__Output>): grpc.ClientUnaryCall;
  ListApprovals(argument: _gavel_v1_ListApprovalsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_ListApprovalsResponse__Output>): grpc.ClientUnaryCall;
  ListApprovals(argument: _gavel_v1_ListApprovalsRequest, callback: grpc.requestCallback<_gavel_v1_ListApprovalsResponse__Output>): grpc.ClientUnaryCall;
  listApprovals(argument: _gavel_v1_ListApprovalsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_ListApprovalsResponse__Output>): grpc.ClientUnaryCall;
  listApprovals(argument: _gavel_v1_ListApprovalsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_ListApprovalsResponse__Output>): grpc.ClientUnaryCall;
  listApprovals(argument: _gavel_v1_ListApprovalsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_ListApprovalsResponse__Output>): grpc.ClientUnaryCall;
  listApprovals(argument: _gavel_v1_ListApprovalsRequest, callback: grpc.requestCallback<_gavel_v1_ListApprovalsResponse__Output>): grpc.ClientUnaryCall;
  
  Resolve(argument: _gavel_v1_ResolveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  Resolve(argument: _gavel_v1_ResolveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  Resolve(argument: _gavel_v1_ResolveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  Resolve(argument: _gavel_v1_ResolveRequest, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  resolve(argument: _gavel_v1_ResolveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  resolve(argument: _gavel_v1_ResolveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  resolve(argument: _gavel_v1_ResolveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  resolve(argument: _gavel_v1_ResolveRequest, callback: grpc.requestCallback<_gavel_v1_Approval__Output>): grpc.ClientUnaryCall;
  
  WatchApproval(argument: _gavel_v1_WatchApprovalRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gavel_v1_Approval__Output>;
  WatchApproval(argument: _gavel_v1_WatchApprovalRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gavel_v1_Approval__Output>;
  watchApproval(argument: _gavel_v1_WatchApprovalRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_gavel_v1_Approval__Output>;
  watchApproval(argument: _gavel_v1_WatchApprovalRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_gavel_v1_Approval__Output>;
  
}

export interface ApprovalServiceHandlers extends grpc.UntypedServiceImplementation {
  GetApproval: grpc.handleUnaryCall<_gavel_v1_GetApprovalRequest__Output, _gavel_v1_Approval>;
  
  ListApprovals: grpc.handleUnaryCall<_gavel_v1_ListApprovalsRequest__Output, _gavel_v1_ListApprovalsResponse>;
  
  Resolve: grpc.handleUnaryCall<_gavel_v1_ResolveRequest__Output, _gavel_v1_Approval>;
  
  WatchApproval: grpc.handleServerStreamingCall<_gavel_v1_WatchApprovalRequest__Output, _gavel_v1_Approval>;
  
}

export interface ApprovalServiceDefinition extends grpc.ServiceDefinition {
  GetApproval: MethodDefinition<_gavel_v1_GetApprovalRequest, _gavel_v1_Approval, _gavel_v1_GetApprovalRequest__Output, _gavel_v1_Approval__Output>
  ListApprovals: MethodDefinition<_gavel_v1_ListApprovalsRequest, _gavel_v1_ListApprovalsResponse, _gavel_v1_ListApprovalsRequest__Output, _gavel_v1_ListApprovalsResponse__Output>
  Resolve: MethodDefinition<_gavel_v1_ResolveRequest, _gavel_v1_Approval, _gavel_v1_ResolveRequest__Output, _gavel_v1_Approval__Output>
  WatchApproval: MethodDefinition<_gavel_v1_WatchApprovalRequest, _gavel_v1_Approval, _gavel_v1_WatchApprovalRequest__Output, _gavel_v1_Approval__Output>
}
