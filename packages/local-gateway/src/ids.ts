import { randomBytes } from 'node:crypto';

// Every message takes three ids (request, message, management answer): one randomBytes call per
// id cost more than the rest of routing it, so they come from a pool refilled 256 ids at a time.
const ID_BYTES = 11;
let idPool = Buffer.alloc(0);
let idOffset = 0;

/**
 * An AWS-like connection / request id: 11 random bytes in base64url with its `=` padding, which
 * gives the 16 characters ending in `=` API Gateway uses (`WyHPAfymhcwCENw=`, `VNRXVFJOywMF3-Q=`).
 * The url-safe alphabet keeps ids usable in a URL path without escaping.
 */
export function awsLikeId(): string {
  if (idOffset + ID_BYTES > idPool.length) {
    idPool = randomBytes(ID_BYTES * 256);
    idOffset = 0;
  }
  const id = idPool.toString('base64url', idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return `${id}=`;
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

let lastSecond = Number.NaN;
let lastRequestTime = '';

/** `requestTime` as API Gateway formats it: `09/Feb/2019:12:34:56 +0000`. */
export function requestTime(epochMs: number): string {
  // One formatting per second: consecutive messages share it.
  const second = Math.floor(epochMs / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastRequestTime = formatRequestTime(epochMs);
  }
  return lastRequestTime;
}

function formatRequestTime(epochMs: number): string {
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
