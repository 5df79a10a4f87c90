const SENSITIVE = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-hook-secret', 'x-api-key', 'password', 'token', 'secret', 'access_token', 'refresh_token']);

/** A copy of `value` with credentials replaced, before it is stored or logged. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 32) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SENSITIVE.has(k.toLowerCase()) ? '[redacted]' : redact(v, depth + 1)]),
    );
  }
  return value;
}
