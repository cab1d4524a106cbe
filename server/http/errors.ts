// Errors that reach a client carry a stable machine code and a message a person can act on.
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const unauthorized = (code: string, message: string) => new HttpError(401, code, message);
