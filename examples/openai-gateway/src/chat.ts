import type { Decision, JsonObject } from '@gavel-pdp/client';

/** The caller an API key stands for: the subject gavel decides about. */
export interface Caller {
  id: string;
  type: 'user' | 'agent';
  roles: string[];
  team: string;
  cost_center: string;
}

/** An OpenAI chat completion request, as much as the gateway reads of it. */
export interface ChatRequest extends JsonObject {
  model: string;
  messages: JsonObject[];
}

/** A request body that is a chat completion request, or why not. */
export function chatRequestOf(body: unknown): ChatRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body must be a JSON object';
  const b = body as JsonObject;
  if (typeof b.model !== 'string' || b.model === '') return 'model is required';
  if (!Array.isArray(b.messages) || b.messages.length === 0) return 'messages must be a non-empty array';
  if (b.stream === true) return 'stream: true is not supported by this gateway (usage could not be reported before the answer)';
  return b as ChatRequest;
}

/** The most output tokens the request allows (max_completion_tokens, or the older max_tokens). */
function maxTokens(chat: ChatRequest): number | undefined {
  const n = chat.max_completion_tokens ?? chat.max_tokens;
  return typeof n === 'number' ? n : undefined;
}

/** gavel's input for a chat completion (README "The input document"): who, which model and how much, and the messages. */
export function gavelInput(caller: Caller, chat: ChatRequest, approvalId: string | undefined, environment: string): JsonObject {
  const max = maxTokens(chat);
  return {
    subject: { ...caller },
    action: { type: 'model.invoke', model: chat.model, params: max === undefined ? {} : { max_tokens: max } },
    content: { messages: chat.messages },
    context: { environment, ...(approvalId ? { approval_id: approvalId } : {}) },
  };
}

/**
 * What goes to the upstream on allow or redact: the model gavel decided (a tier-down's), and the
 * messages as gavel redacted them — never the originals when anything was redacted.
 */
export function upstreamRequest(chat: ChatRequest, decision: Decision): ChatRequest {
  const content = decision.redactedInput?.content;
  const redacted = typeof content === 'object' && content !== null && !Array.isArray(content) ? (content as JsonObject).messages : undefined;
  if (decision.outcome === 'redact' && !Array.isArray(redacted)) throw new Error('a redact decision came without its redacted messages');
  return { ...chat, model: decision.model ?? chat.model, messages: (redacted as JsonObject[] | undefined) ?? chat.messages };
}
