import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { GetUsageRequest as _gavel_v1_GetUsageRequest, GetUsageRequest__Output as _gavel_v1_GetUsageRequest__Output } from './gavel/v1/GetUsageRequest.js';
import type { GetUsageResponse as _gavel_v1_GetUsageResponse, GetUsageResponse__Output as _gavel_v1_GetUsageResponse__Output } from './gavel/v1/GetUsageResponse.js';
import type { ReportRequest as _gavel_v1_ReportRequest, ReportRequest__Output as _gavel_v1_ReportRequest__Output } from './gavel/v1/ReportRequest.js';
import type { ReportResponse as _gavel_v1_ReportResponse, ReportResponse__Output as _gavel_v1_ReportResponse__Output } from './gavel/v1/ReportResponse.js';
import type { UsageServiceClient as _gavel_v1_UsageServiceClient, UsageServiceDefinition as _gavel_v1_UsageServiceDefinition } from './gavel/v1/UsageService.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gavel: {
    v1: {
      GetUsageRequest: MessageTypeDefinition<_gavel_v1_GetUsageRequest, _gavel_v1_GetUsageRequest__Output>
      GetUsageResponse: MessageTypeDefinition<_gavel_v1_GetUsageResponse, _gavel_v1_GetUsageResponse__Output>
      ReportRequest: MessageTypeDefinition<_gavel_v1_ReportRequest, _gavel_v1_ReportRequest__Output>
      ReportResponse: MessageTypeDefinition<_gavel_v1_ReportResponse, _gavel_v1_ReportResponse__Output>
      UsageScope: EnumTypeDefinition
      UsageService: SubtypeConstructor<typeof grpc.Client, _gavel_v1_UsageServiceClient> & { service: _gavel_v1_UsageServiceDefinition }
    }
  }
}

