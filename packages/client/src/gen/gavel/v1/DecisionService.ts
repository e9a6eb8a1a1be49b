// Original file: proto/gavel/v1/decision.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DecideRequest as _gavel_v1_DecideRequest, DecideRequest__Output as _gavel_v1_DecideRequest__Output } from '../../gavel/v1/DecideRequest.js';
import type { DecideResponse as _gavel_v1_DecideResponse, DecideResponse__Output as _gavel_v1_DecideResponse__Output } from '../../gavel/v1/DecideResponse.js';
import type { DecideStreamRequest as _gavel_v1_DecideStreamRequest, DecideStreamRequest__Output as _gavel_v1_DecideStreamRequest__Output } from '../../gavel/v1/DecideStreamRequest.js';
import type { DecideStreamResponse as _gavel_v1_DecideStreamResponse, DecideStreamResponse__Output as _gavel_v1_DecideStreamResponse__Output } from '../../gavel/v1/DecideStreamResponse.js';

export interface DecisionServiceClient extends grpc.Client {
  Decide(argument: _gavel_v1_DecideRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_DecideResponse__Output>): grpc.ClientUnaryCall;
  Decide(argument: _gavel_v1_DecideRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_DecideResponse__Output>): grpc.ClientUnaryCall;
  Decide(argument: _gavel_v1_DecideRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_DecideResponse__Output>): grpc.ClientUnaryCall;
  Decide(argument: _gavel_v1_DecideRequest, callback: grpc.requestCallback<_gavel_v1_DecideResponse__Output>): grpc.ClientUnaryCall;
  decide(argument: _gavel_v1_DecideRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_DecideResponse__Output>): grpc.ClientUnaryCall;
  decide(argument: _gavel_v1_DecideRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_gavel_v1_DecideResponse__Output>): grpc.ClientUnaryCall;
  decide(argument: _gavel_v1_DecideRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_gavel_v1_DecideResponse__Output>): grpc.ClientUnaryCall;
  decide(argument: _gavel_v1_DecideRequest, callback: grpc.requestCallback<_gavel_v1_DecideResponse__Output>): grpc.ClientUnaryCall;
  
  DecideStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_gavel_v1_DecideStreamRequest, _gavel_v1_DecideStreamResponse__Output>;
  DecideStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_gavel_v1_DecideStreamRequest, _gavel_v1_DecideStreamResponse__Output>;
  decideStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_gavel_v1_DecideStreamRequest, _gavel_v1_DecideStreamResponse__Output>;
  decideStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_gavel_v1_DecideStreamRequest, _gavel_v1_DecideStreamResponse__Output>;
  
}

export interface DecisionServiceHandlers extends grpc.UntypedServiceImplementation {
  Decide: grpc.handleUnaryCall<_gavel_v1_DecideRequest__Output, _gavel_v1_DecideResponse>;
  
  DecideStream: grpc.handleBidiStreamingCall<_gavel_v1_DecideStreamRequest__Output, _gavel_v1_DecideStreamResponse>;
  
}

export interface DecisionServiceDefinition extends grpc.ServiceDefinition {
  Decide: MethodDefinition<_gavel_v1_DecideRequest, _gavel_v1_DecideResponse, _gavel_v1_DecideRequest__Output, _gavel_v1_DecideResponse__Output>
  DecideStream: MethodDefinition<_gavel_v1_DecideStreamRequest, _gavel_v1_DecideStreamResponse, _gavel_v1_DecideStreamRequest__Output, _gavel_v1_DecideStreamResponse__Output>
}
