import type * as grpc from '@grpc/grpc-js';
import { jsonInput, unary, unaryError, type Clients } from '../helpers/client.js';

export const FIONA = { id: 'fiona', type: 'user', roles: ['finance', 'employee'], team: 'finance', cost_center: 'cc-200' };
export const MANAGER = { id: 'mia', roles: ['finance-manager'] };
export const SECOND_MANAGER = { id: 'noah', roles: ['finance-manager'] };

/** A payments.transfer as the reference policy judges it (above 10,000 needs approval; above 100,000 two approvers). */
export function transfer(amount: number, over: { subject?: Record<string, unknown>; approvalId?: string; to?: string } = {}): Record<string, unknown> {
  return {
    subject: over.subject ?? FIONA,
    action: { type: 'tool.call', tool: 'payments.transfer', params: { amount, currency: 'USD', to_account: over.to ?? 'ACME-001' } },
    context: { environment: 'prod', ...(over.approvalId ? { approval_id: over.approvalId } : {}) },
  };
}

export function decide(c: Clients, input: unknown): Promise<Record<string, any>> {
  return unary(c.decision, 'Decide', jsonInput(input));
}

export function codes(res: Record<string, any>): string[] {
  return (res.reasons as Array<{ code: string }>).map((r) => r.code);
}

export function resolve(
  c: Clients,
  approvalId: string,
  verdict: 'VERDICT_APPROVE' | 'VERDICT_REJECT',
  approver: { id: string; roles: string[] },
  comment = '',
): Promise<Record<string, any>> {
  return unary(c.approval, 'Resolve', { approval_id: approvalId, verdict, approver, comment });
}

export function resolveError(c: Clients, request: Record<string, unknown>): Promise<grpc.ServiceError> {
  return unaryError(c.approval, 'Resolve', request);
}

export function errorCode(err: grpc.ServiceError): string {
  return String(err.metadata.get('gavel-error-code')[0]);
}

/** Every message of a WatchApproval stream until it ends (or the deadline). */
export function watch(c: Clients, approvalId: string, onMessage?: (a: Record<string, any>) => void): Promise<Array<Record<string, any>>> {
  return new Promise((resolve, reject) => {
    const call = (c.approval as unknown as Record<string, Function>).WatchApproval!.call(
      c.approval,
      { approval_id: approvalId },
      { deadline: Date.now() + 15_000 },
    ) as grpc.ClientReadableStream<Record<string, any>>;
    const items: Array<Record<string, any>> = [];
    call.on('data', (a: Record<string, any>) => {
      items.push(a);
      onMessage?.(a);
    });
    call.on('error', reject);
    call.on('end', () => resolve(items));
  });
}
