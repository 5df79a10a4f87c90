export interface HttpRequest {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  /** Aborts the request (its run was cancelled): it rejects with "aborted". */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the response is JSON, else text; cut at the body cap. */
  body: unknown;
  truncated: boolean;
  durationMs: number;
}

/** Outbound HTTP for the `http-request` action. Rejects with `OutboundRequestError`. */
export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>;
}
