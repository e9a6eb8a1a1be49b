import type { ReportRequest } from './gen/gavel/v1/ReportRequest.js';
import type { ReportResponse__Output } from './gen/gavel/v1/ReportResponse.js';

/**
 * What an allowed model call really used (README "Budgets and metering"). The attribution must
 * match the decision's: the subject, team and cost center it was decided for, and the model it
 * decided (Decision.model, the tier-down's when there was one).
 */
export interface UsageReport {
  subject: string;
  team: string;
  costCenter: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Decimal string in the configured currency, at most 6 decimals; absent = priced from the bundle's table. */
  cost?: string;
}

export interface UsageReceipt {
  decisionId: string;
  /** This decision's usage was already reported: nothing was counted twice. */
  duplicate: boolean;
  /** The cost recorded, as a decimal string. */
  cost: string;
  currency: string;
  tokens: number;
}

export function reportRequest(decisionId: string, u: UsageReport): ReportRequest {
  return {
    decision_id: decisionId,
    subject: u.subject,
    team: u.team,
    cost_center: u.costCenter,
    model: u.model,
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    cost: u.cost ?? '',
  };
}

export function receiptOf(r: ReportResponse__Output): UsageReceipt {
  return { decisionId: r.decision_id, duplicate: r.duplicate, cost: r.cost, currency: r.currency, tokens: r.tokens };
}
