// Cloudflare's v4 response envelope and the error type every handler throws.
import { randomBytes } from 'node:crypto';

export interface CfMessage { code: number; message: string; error_chain?: CfMessage[]; source?: { pointer: string } }

export interface Envelope {
  success: boolean;
  errors: CfMessage[];
  messages: Array<CfMessage & { type?: string | null }>;
  result: unknown;
  result_info?: unknown;
}

/** Thrown by handlers; the server turns it into a non-2xx envelope (the SDK never reads `success`). */
export class CfError extends Error {
  constructor(
    readonly status: number,
    readonly errors: CfMessage[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors.map((e) => `${e.code}: ${e.message}`).join('; '));
  }
}

export function cfError(status: number, code: number, message: string): CfError {
  return new CfError(status, [{ code, message }]);
}

/** What a handler returns on success. */
export interface Reply {
  status?: number;
  result: unknown;
  result_info?: unknown;
  messages?: Envelope['messages'];
}

export function successEnvelope(reply: Reply): Envelope {
  const env: Envelope = { success: true, errors: [], messages: reply.messages ?? [], result: reply.result };
  if (reply.result_info !== undefined) env.result_info = reply.result_info;
  return env;
}

export function failureEnvelope(errors: CfMessage[]): Envelope {
  return { success: false, errors, messages: [], result: null };
}

export interface PageInfo { page: number; per_page: number; count: number; total_count: number; total_pages: number }

/** Page-number paging as Cloudflare does it: past the last page the result is empty, not an error. */
export function paginate<T>(items: T[], page: number, perPage: number): { page: T[]; info: PageInfo } {
  const start = (page - 1) * perPage;
  const slice = items.slice(start, start + perPage);
  return {
    page: slice,
    info: {
      page,
      per_page: perPage,
      count: slice.length,
      total_count: items.length,
      total_pages: Math.max(1, Math.ceil(items.length / perPage)),
    },
  };
}



/** 32 lowercase hex characters, the shape of every Cloudflare id used here. */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

export const ID_PATTERN = /^[0-9a-f]{32}$/;
