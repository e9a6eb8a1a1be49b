// Original file: proto/gavel/v1/usage.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GetUsageRequest as _gavel_v1_GetUsageRequest, GetUsageRequest__Output as _gavel_v1_GetUsageRequest__Output } from '../../gavel/v1/GetUsageRequest.js';
import type { GetUsageResponse as _gavel_v1_GetUsageResponse, GetUsageResponse__Output as _gavel_v1_GetUsageResponse__Output } from '../../gavel/v1/GetUsageResponse.js';
import type { ReportRequest as _gavel_v1_ReportRequest, ReportRequest__Output as _gavel_v1_ReportRequest__Output } from '../../gavel/v1/ReportRequest.js';
import type { ReportResponse as _gavel_v1_ReportResponse, ReportResponse__Output as _gavel_v1_ReportResponse__Output } from '../../gavel/v1/ReportResponse.js';

export interface UsageServiceClient extends grpc.Client {
  GetUsage(argument: _gavel_v1_GetUsageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  GetUsage(argument: _gavel_v1_GetUsageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  GetUsage(argument: _gavel_v1_GetUsageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  GetUsage(argument: _gavel_v1_GetUsageRequest, callback: grpc.requestCallback<_gavel_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  getUsage(argument: _gavel_v1_GetUsageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  getUsage(argument: _gavel_v1_GetUsageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  getUsage(argument: _gavel_v1_GetUsageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  getUsage(argument: _gavel_v1_GetUsageRequest, callback: grpc.requestCallback<_gavel_v1_GetUsageResponse__Output>): grpc.ClientUnaryCall;
  
  Report(argument: _gavel_v1_ReportRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_ReportResponse__Output>): grpc.ClientUnaryCall;
  Report(argument: _gavel_v1_ReportRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_ReportResponse__Output>): grpc.ClientUnaryCall;
  Report(argument: _gavel_v1_ReportRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_ReportResponse__Output>): grpc.ClientUnaryCall;
  Report(argument: _gavel_v1_ReportRequest, callback: grpc.requestCallback<_gavel_v1_ReportResponse__Output>): grpc.ClientUnaryCall;
  report(argument: _gavel_v1_ReportRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_ReportResponse__Output>): grpc.ClientUnaryCall;
  report(argument: _gavel_v1_ReportRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_ReportResponse__Output>): grpc.ClientUnaryCall;
  report(argument: _gavel_v1_ReportRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_ReportResponse__Output>): grpc.ClientUnaryCall;
  report(argument: _gavel_v1_ReportRequest, callback: grpc.requestCallback<_gavel_v1_ReportResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface UsageServiceHandlers extends grpc.UntypedServiceImplementation {
  GetUsage: grpc.handleUnaryCall<_gavel_v1_GetUsageRequest__Output, _gavel_v1_GetUsageResponse>;
  
  Report: grpc.handleUnaryCall<_gavel_v1_ReportRequest__Output, _gavel_v1_ReportResponse>;
  
}

export interface UsageServiceDefinition extends grpc.ServiceDefinition {
  GetUsage: MethodDefinition<_gavel_v1_GetUsageRequest, _gavel_v1_GetUsageResponse, _gavel_v1_GetUsageRequest__Output, _gavel_v1_GetUsageResponse__Output>
  Report: MethodDefinition<_gavel_v1_ReportRequest, _gavel_v1_ReportResponse, _gavel_v1_ReportRequest__Output, _gavel_v1_ReportResponse__Output>
}
