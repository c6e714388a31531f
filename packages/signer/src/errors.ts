/**
 * Typed errors of the signer library. Every error a caller may want to act on has its own class
 * and a stable `code`, so callers can branch without parsing messages.
 */
export class SignerClientError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The relay URL is not a valid `ws://` or `wss://` URL. Terminal. */
export class InvalidUrlError extends SignerClientError {
  constructor(message: string) {
    super('INVALID_URL', message);
  }
}

/**
 * The relay refused the WebSocket handshake with an HTTP status (401: no credentials, 403: denied,
 * 400: bad connect parameters...). Terminal: retrying with the same credentials cannot succeed.
 */
export class HandshakeRefusedError extends SignerClientError {
  readonly statusCode: number;
  readonly body: string;
  constructor(statusCode: number, body: string) {
    const detail = body.trim() ? `: ${body.trim().slice(0, 200)}` : '';
    super('HANDSHAKE_REFUSED', `relay refused the connection with HTTP ${statusCode}${detail}`);
    this.statusCode = statusCode;
    this.body = body;
  }
}

/**
 * The relay answered `TOKEN_EXPIRED` (jwt mode): the connection's token expired after it connected,
 * and the relay closes the connection. Terminal, like a refused handshake: reconnecting with the
 * same token cannot succeed; create a new client with a fresh token.
 */
export class TokenExpiredError extends SignerClientError {
  constructor(message: string) {
    super('TOKEN_EXPIRED', `relay: the connection's token expired: ${message}`);
  }
}

/** The relay could not be reached after the allowed number of attempts. Terminal. */
export class RelayUnreachableError extends SignerClientError {
  readonly attempts: number;
  constructor(attempts: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'RELAY_UNREACHABLE',
      `relay unreachable after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}`,
      { cause },
    );
    this.attempts = attempts;
  }
}

/** The client was closed: a send that was still queued is rejected with this. */
export class ClientClosedError extends SignerClientError {
  constructor(message = 'client closed before the frame was sent') {
    super('CLIENT_CLOSED', message);
  }
}

/** The outbox is full (the relay has been unreachable for a while): the frame was not queued. */
export class OutboxFullError extends SignerClientError {
  constructor(limit: number) {
    super('OUTBOX_FULL', `outbox is full (${limit} frames waiting); frame not queued`);
  }
}

/** A frame the caller asked to send is not valid for the relay (checked before queueing). */
export class InvalidSendError extends SignerClientError {
  constructor(message: string) {
    super('INVALID_SEND', message);
  }
}

/** Something about the signing key (missing, malformed, unreadable). The key itself is never included. */
export class SigningKeyError extends SignerClientError {
  constructor(message: string) {
    super('SIGNING_KEY', message);
  }
}

/** Protocol v2: the relay refused a sent frame (an error frame naming its clientMsgId). */
export class SendRefusedError extends SignerClientError {
  /** The relay's error code (`NO_MAPPING`, `SPOOFED_SOURCE`, `FORBIDDEN`, ...). */
  readonly relayCode: string;
  constructor(relayCode: string, message: string) {
    super('SEND_REFUSED', `relay refused the message (${relayCode}): ${message}`);
    this.relayCode = relayCode;
  }
}
