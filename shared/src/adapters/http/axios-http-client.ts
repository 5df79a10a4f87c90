import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import axios, { AxiosError, type AxiosResponse } from 'axios';
import { HTTP_HEADER_NAME, HTTP_HEADER_VALUE } from '../../domain/workflow.js';
import { OutboundRequestRefusedError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../ports/http.js';
import { AddressPolicy, type AddressPolicyOptions } from './address-policy.js';

export interface AxiosHttpClientOptions extends AddressPolicyOptions {
  /** Response bodies larger than this are cut. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Redirects followed at most. Default 5. */
  maxRedirects?: number;
  logger?: Logger;
}

/** Longest a pooled connection stays open unused (node's own global agent's figure), less when the server says so. */
const IDLE_SOCKET_MS = 5_000;

/** Request headers a workflow may not set: they belong to the connection, not the request. */
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'upgrade', 'keep-alive', 'proxy-authorization', 'te', 'trailer']);

/**
 * Outbound HTTP for the `http-request` action, on axios. Every connection (the first and
 * each redirect's) resolves its host through a lookup that refuses private, loopback,
 * link-local and other internal addresses, so the address checked is the address
 * connected to (no DNS-rebinding gap). Non-2xx answers are returned, not thrown.
 *
 * Redirects are followed (up to `maxRedirects`); one to another origin (scheme, host or
 * port) carries none of the headers the action set (an `x-api-key` is for the host the
 * workflow named, not for whoever it redirects to), and one that would re-send the body
 * to another origin (307, 308) is refused.
 */
export function createAxiosHttpClient(options: AxiosHttpClientOptions = {}): HttpClient {
  const policy = new AddressPolicy(options);
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;

  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const allowedHost = policy.hostAllowed(hostname);
      const refused = allowedHost ? undefined : addresses.map((a) => policy.refusal(a.address)).find(Boolean);
      if (refused) return callback(new OutboundRequestRefusedError(`refused to connect to ${hostname}: ${refused}`), '', 0);
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new Error(`no address for ${hostname}`), '', 0);
      callback(null, first.address, first.family);
    });
  };

  // Kept-alive connections are reused, but none longer than the server keeps it open: node
  // closes an idle pooled socket a second before the `Keep-Alive: timeout=N` the server sent,
  // but only when the agent has a timeout of its own to compare it with. Without one, a request
  // made just as the server closed the idle connection failed with ECONNRESET (a step failing
  // for nothing, once every few retries five seconds apart). A request in flight is bounded by
  // its own timeout instead (axios sets it on the socket).
  const agentOptions = { keepAlive: true, timeout: IDLE_SOCKET_MS, lookup: guardedLookup };
  const client = axios.create({
    httpAgent: new http.Agent(agentOptions),
    httpsAgent: new https.Agent(agentOptions),
    maxRedirects: options.maxRedirects ?? 5,
    maxContentLength: maxBodyBytes,
    maxBodyLength: 10 * 1024 * 1024,
    responseType: 'arraybuffer',
    validateStatus: () => true,
  });

  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      const url = new URL(req.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundRequestRefusedError(`refused ${url.protocol} URL: only http and https`);
      checkLiteralAddress(policy, url.hostname);
      const headers = Object.fromEntries(Object.entries(req.headers ?? {}).filter(([k]) => !FORBIDDEN_HEADERS.has(k.toLowerCase())));
      checkHeaders(headers);
      const started = performance.now();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), req.timeoutMs);
      const cancel = () => controller.abort(CANCELLED);
      if (req.signal?.aborted) cancel();
      req.signal?.addEventListener('abort', cancel, { once: true });
      let res: AxiosResponse<ArrayBuffer>;
      try {
        res = await client.request<ArrayBuffer>({
          url: req.url,
          method: req.method,
          headers,
          data: req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body),
          ...(req.body !== undefined && typeof req.body !== 'string' && !hasHeader(headers, 'content-type') ? { headers: { ...headers, 'content-type': 'application/json' } } : {}),
          timeout: req.timeoutMs,
          signal: controller.signal,
          beforeRedirect: (next, response, previous) => {
            // A literal IP in a URL never goes through DNS: check it here, as on the first hop.
            checkLiteralAddress(policy, String(next.hostname ?? ''));
            if (sameOrigin(String(next.href), previous?.url)) return;
            if (req.body !== undefined && (response.statusCode === 307 || response.statusCode === 308)) {
              throw new OutboundRequestRefusedError(`refused to follow a ${response.statusCode} redirect to another origin: it would re-send the request body there`);
            }
            const actionHeaders = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
            const sent = next.headers as Record<string, unknown> | undefined;
            for (const name of Object.keys(sent ?? {})) if (actionHeaders.has(name.toLowerCase())) delete sent?.[name];
          },
        });
      } catch (err) {
        if (controller.signal.reason === CANCELLED) throw new Error('aborted: the run was cancelled');
        throw describe(err, req.timeoutMs, controller.signal.aborted);
      } finally {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', cancel);
      }
      const raw = Buffer.from(res.data);
      const truncated = raw.length > maxBodyBytes;
      const text = raw.subarray(0, maxBodyBytes).toString('utf8');
      const contentType = String(res.headers['content-type'] ?? '');
      let body: unknown = text;
      if (!truncated && contentType.includes('json') && text) {
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      }
      return {
        status: res.status,
        headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v)])),
        body,
        truncated,
        durationMs: Math.round(performance.now() - started),
      };
    },
  };
}

function sameOrigin(next: string, previous: string | undefined): boolean {
  try {
    return previous !== undefined && new URL(next).origin === new URL(previous).origin;
  } catch {
    return false;
  }
}

/** Templating can put anything in a header; refuse what would split it, in words of our own. */
function checkHeaders(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    if (!HTTP_HEADER_NAME.test(name)) throw new OutboundRequestRefusedError(`refused header ${JSON.stringify(name.slice(0, 64))}: not a valid header name`);
    if (!HTTP_HEADER_VALUE.test(value)) throw new OutboundRequestRefusedError(`refused header "${name}": its value contains a line break or control character`);
  }
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

function checkLiteralAddress(policy: AddressPolicy, hostname: string): void {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (!isIp(host) || policy.hostAllowed(host)) return;
  const refused = policy.refusal(host);
  if (refused) throw new OutboundRequestRefusedError(`refused to connect to ${hostname}: ${refused}`);
}

function isIp(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

/** The abort reason of a request its caller cancelled (rather than one that timed out). */
const CANCELLED = Symbol('cancelled');

function describe(err: unknown, timeoutMs: number, aborted: boolean): Error {
  const refused = findRefusal(err);
  if (refused) return refused;
  if (aborted || (err instanceof AxiosError && err.code === 'ECONNABORTED')) return new Error(`timeout after ${timeoutMs}ms`);
  if (err instanceof AxiosError) {
    if (err.code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(err.message)) return new Error(`response body larger than the cap`);
    return new Error(err.code ? `${err.code}: ${err.message}` : err.message);
  }
  return err instanceof Error ? err : new Error(String(err));
}

function findRefusal(err: unknown): OutboundRequestRefusedError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OutboundRequestRefusedError) return e;
  }
  return undefined;
}
