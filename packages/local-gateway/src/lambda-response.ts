/** Readers of what a Lambda proxy integration returns (`{ statusCode, headers, body, isBase64Encoded }`). */

export function statusOf(result: unknown): number | undefined {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const status = Number((result as { statusCode: unknown }).statusCode);
    return Number.isFinite(status) ? status : undefined;
  }
  return undefined;
}

/** The `body` of a Lambda proxy response (or a plain string result), decoded from base64 when flagged. */
export function responseBody(result: unknown): string | undefined {
  if (typeof result === 'string') return result;
  if (!result || typeof result !== 'object') return undefined;
  const { body, isBase64Encoded } = result as { body?: unknown; isBase64Encoded?: unknown };
  if (body === undefined || body === null) return undefined;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return isBase64Encoded === true ? Buffer.from(text, 'base64').toString('utf8') : text;
}

export function headersFromResult(result: unknown): Record<string, string> {
  if (!result || typeof result !== 'object') return {};
  const headers = (result as { headers?: unknown }).headers;
  if (!headers || typeof headers !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (v !== undefined && v !== null) out[k] = String(v);
  }
  return out;
}
