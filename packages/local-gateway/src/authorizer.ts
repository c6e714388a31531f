/** What the REQUEST authorizer decided, as API Gateway turns it into a handshake outcome. */
export type AuthorizerOutcome =
  | { ok: true; principalId: string; context: Record<string, string | number | boolean> }
  | { ok: false; status: 401 | 403 | 500; reason: string };

export interface IdentityRequest {
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  query: URLSearchParams;
}

/**
 * API Gateway checks every identity source before invoking a REQUEST authorizer: one that is
 * missing or empty answers 401 without calling the authorizer. Sources look like
 * `route.request.header.Authorization` or `route.request.querystring.token`.
 */
export function missingIdentitySource(
  sources: readonly string[],
  request: IdentityRequest,
): string | undefined {
  for (const source of sources) {
    const header = /^route\.request\.header\.(.+)$/i.exec(source);
    const query = /^route\.request\.querystring\.(.+)$/i.exec(source);
    let value: string | null | undefined;
    if (header?.[1]) {
      const name = header[1].toLowerCase();
      value = Object.hasOwn(request.headers, name) ? request.headers[name] : undefined;
    } else if (query?.[1]) value = request.query.get(query[1]);
    else continue; // context / stage variables: always present locally
    if (value === undefined || value === null || value === '') return source;
  }
  return undefined;
}

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  Resource?: unknown;
}

/** `*` and `?` wildcards as IAM evaluates them in `Action` and `Resource`. */
function wildcardMatch(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(value);
}

function asList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

/**
 * Turns a Lambda REQUEST authorizer's answer into API Gateway's decision: an explicit Deny or no
 * matching Allow for `execute-api:Invoke` on the method ARN gives 403; an answer that is not a
 * policy, or a context with a non-scalar value, gives 500 (API Gateway's "AuthorizerConfigurationException").
 */
export function evaluateAuthorizerResult(result: unknown, methodArn: string): AuthorizerOutcome {
  if (!result || typeof result !== 'object') {
    return { ok: false, status: 500, reason: 'authorizer returned no policy' };
  }
  const answer = result as { principalId?: unknown; policyDocument?: unknown; context?: unknown };
  const document = answer.policyDocument as { Statement?: unknown } | undefined;
  if (!document || typeof document !== 'object') {
    return { ok: false, status: 500, reason: 'authorizer returned no policyDocument' };
  }
  const statements = (Array.isArray(document.Statement) ? document.Statement : [document.Statement]).filter(
    (s): s is Statement => !!s && typeof s === 'object',
  );
  const context: Record<string, string | number | boolean> = {};
  if (answer.context !== undefined && answer.context !== null) {
    if (typeof answer.context !== 'object') {
      return { ok: false, status: 500, reason: 'authorizer context is not an object' };
    }
    for (const [key, value] of Object.entries(answer.context as Record<string, unknown>)) {
      if (value === null || value === undefined) continue;
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return {
          ok: false,
          status: 500,
          reason: `authorizer context value "${key}" is not a string, number or boolean`,
        };
      }
      context[key] = value;
    }
  }
  const applies = (s: Statement) =>
    asList(s.Action).some((action) => wildcardMatch(action, 'execute-api:Invoke')) &&
    asList(s.Resource).some((resource) => wildcardMatch(resource, methodArn));
  const matching = statements.filter(applies);
  if (matching.some((s) => String(s.Effect).toLowerCase() === 'deny')) {
    // A Deny's context reaches API Gateway's logs ($context.authorizer.*), never the client.
    const why = typeof context.reason === 'string' ? `: ${context.reason.slice(0, 200)}` : '';
    return { ok: false, status: 403, reason: `authorizer denied${why}` };
  }
  if (!matching.some((s) => String(s.Effect).toLowerCase() === 'allow')) {
    return { ok: false, status: 403, reason: 'authorizer policy does not allow this method' };
  }
  const principalId =
    typeof answer.principalId === 'string' ? answer.principalId : String(answer.principalId ?? '');
  return { ok: true, principalId, context };
}
