import { randomBytes } from 'node:crypto';

/**
 * An AWS-like connection / request id: 11 random bytes in base64url with its `=` padding, which
 * gives the 16 characters ending in `=` API Gateway uses (`WyHPAfymhcwCENw=`, `VNRXVFJOywMF3-Q=`).
 * The url-safe alphabet keeps ids usable in a URL path without escaping.
 */
export function awsLikeId(): string {
  return `${randomBytes(11).toString('base64url')}=`;
}

/** An API id like API Gateway's: 10 lowercase letters and digits. */
export function apiLikeId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(10);
  let id = '';
  for (const byte of bytes) id += alphabet[byte % alphabet.length];
  return id;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestTime` as API Gateway formats it: `09/Feb/2019:12:34:56 +0000`. */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())} +0000`;
}

/** The local name of a handler's function (context `functionName`, Lambda API ARNs). */
export function localFunctionName(handler: string): string {
  return `mpc-relay-${handler}`;
}
