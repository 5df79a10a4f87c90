import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { OpenAPIBackend, SetMatchType, ValidationContext, type Document } from 'openapi-backend';
import { z } from 'zod';
import { openApiDocument } from '../../src/http/openapi.js';
import { ErrorResponse } from '../../src/http/schemas/responses.js';

/**
 * Checks real responses against the OpenAPI document with a standard validator
 * (openapi-backend, on Ajv's JSON Schema 2020-12, the dialect OpenAPI 3.1 uses): the
 * status is one the operation documents, the headers it marks required are there and
 * match, and the body matches the schema of that status (or is empty when none is given).
 * `startApi` runs every response of the API suites through it.
 */
export interface ContractCheck {
  /** Throws, naming the operation and the mismatch, when the response is not what the document says. */
  check(method: string, path: string, response: { status: number; headers: Headers; body: unknown; text: string }): void;
}

interface DocumentedResponse {
  content?: Record<string, unknown>;
  headers?: Record<string, { required?: boolean }>;
}
interface DocumentedOperation {
  operationId: string;
  responses: Record<string, DocumentedResponse>;
}

let shared: Promise<ContractCheck> | undefined;

/** One checker per process (compiling the document's schemas is the slow part). */
export function openApiContract(): Promise<ContractCheck> {
  shared ??= createContract(openApiDocument());
  return shared;
}

export async function createContract(document: Record<string, unknown>): Promise<ContractCheck> {
  const backend = new OpenAPIBackend({
    definition: document as unknown as Document,
    // `quick` skips openapi-backend's own check of the document, which knows OpenAPI 3.0
    // only; the document is linted as 3.1 by `npm run openapi:check` (Redocly).
    quick: true,
    validate: true,
    customizeAjv: (_draft7, options) => {
      const ajv = new Ajv2020({ ...options, strict: true, allErrors: true });
      addFormats.default(ajv);
      return ajv as never;
    },
  });
  await backend.init();
  const errorShape = backend.validator.getAjv(ValidationContext.Response).compile(z.toJSONSchema(ErrorResponse, { io: 'output', target: 'draft-2020-12' }));

  return {
    check(method, path, response) {
      // Node's HTTP parser answers a request line and headers over 16 KB itself, before the app (README, API).
      if (response.status === 431 && response.text === '') return;
      const url = new URL(path, 'http://api.test');
      const operation = backend.matchOperation({ method, path: url.pathname, headers: {} }) as unknown as DocumentedOperation | undefined;
      const where = `${method} ${url.pathname} → ${response.status}`;
      if (!operation) {
        // A path the API does not serve: the catch-all 404 (or 401 behind the token check), in the error shape.
        if (response.status !== 404 && response.status !== 401) throw new Error(`${where}: not a documented operation, yet answered ${response.status}`);
        if (!errorShape(response.body)) throw new Error(`${where}: an undocumented path must answer the error shape: ${response.text.slice(0, 200)}`);
        return;
      }
      const documented = operation.responses[String(response.status)];
      if (!documented) throw new Error(`${where} (${operation.operationId}): status not documented: ${response.text.slice(0, 300)}`);
      if (!documented.content) {
        if (response.text !== '') throw new Error(`${where} (${operation.operationId}): documented without a body, got ${response.text.slice(0, 200)}`);
      } else {
        const body = backend.validateResponse(response.body, operation as never, response.status);
        if (!body.valid) throw new Error(`${where} (${operation.operationId}): body does not match: ${JSON.stringify(body.errors)} in ${response.text.slice(0, 500)}`);
      }
      const headers = Object.fromEntries(response.headers.entries());
      for (const [name, header] of Object.entries(documented.headers ?? {})) {
        if (header.required && headers[name.toLowerCase()] === undefined) throw new Error(`${where} (${operation.operationId}): required header ${name} missing`);
      }
      // Headers present are checked against their schemas; required ones were checked above.
      const headerResult = backend.validateResponseHeaders(headers, operation as never, { statusCode: response.status, setMatchType: SetMatchType.Any });
      if (!headerResult.valid) throw new Error(`${where} (${operation.operationId}): headers do not match: ${JSON.stringify(headerResult.errors)}`);
    },
  };
}
