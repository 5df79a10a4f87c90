import { z } from 'zod';

// zod would otherwise probe `new Function` for speed, which the page's CSP forbids (and reports).
z.config({ jitless: true });

/** Field path (`actions.0.url`, `` for the whole) → the first problem with it. */
export type FieldErrors = Record<string, string>;

type Issue = z.core.$ZodIssue;

/**
 * The API's own rules for a request body, from the OpenAPI document it publishes: the same
 * JSON Schema that is generated from the zod schemas validating the request on the server.
 * Nothing is restated here; what JSON Schema cannot say (cross-field checks) the server's
 * 400 reports on save, on the same fields.
 */
export function validatorFor(openApi: unknown, name: string): (value: unknown) => FieldErrors {
  const schemas = (openApi as { components?: { schemas?: Record<string, unknown> } }).components?.schemas;
  const jsonSchema = schemas?.[name];
  if (!jsonSchema) throw new Error(`the API publishes no schema named ${name}`);
  const schema = z.fromJSONSchema(jsonSchema as Parameters<typeof z.fromJSONSchema>[0]);
  return (value) => {
    const result = schema.safeParse(value);
    return result.success ? {} : fieldErrors(result.error.issues);
  };
}

/** The first message per field, unions resolved to the branch the value meant (by its `type`). */
export function fieldErrors(issues: readonly Issue[], prefix: PropertyKey[] = []): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      Object.assign(errors, { ...fieldErrors(chosenBranch(issue.errors), path), ...errors });
      continue;
    }
    const key = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0] ?? ''].join('.') : path.join('.');
    errors[key] ??= messageOf(issue);
  }
  return errors;
}

/** The branch whose discriminator matched (no complaint about `type`), else the one with the fewest issues. */
function chosenBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] {
  const typeMatched = branches.filter((issues) => !issues.some((i) => i.path.length === 1 && i.path[0] === 'type'));
  const candidates = typeMatched.length > 0 ? typeMatched : branches;
  return candidates.reduce((best, next) => (next.length < best.length ? next : best));
}

function messageOf(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${article(issue.expected)}`;
    case 'too_small':
      return issue.origin === 'string'
        ? Number(issue.minimum) <= 1
          ? 'is required'
          : `must be at least ${issue.minimum} characters`
        : issue.origin === 'array'
          ? `needs at least ${issue.minimum}`
          : `must be at least ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'string' ? `must be at most ${issue.maximum} characters` : issue.origin === 'array' ? `at most ${issue.maximum}` : `must be at most ${issue.maximum}`;
    case 'invalid_format':
      return issue.format === 'regex' ? 'has characters or a form that are not allowed' : `must be a valid ${issue.format}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'unrecognized_keys':
      return 'is not a field the API knows';
    default:
      return issue.message;
  }
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

/** The server's 400 `details` (`[{ path, message }]`) as field errors. */
export function serverFieldErrors(details: unknown): FieldErrors {
  const errors: FieldErrors = {};
  if (!Array.isArray(details)) return errors;
  for (const d of details as { path?: unknown; message?: unknown }[]) {
    if (typeof d?.message !== 'string') continue;
    const path = typeof d.path === 'string' ? d.path : Array.isArray(d.path) ? d.path.join('.') : '';
    errors[path] ??= d.message;
  }
  return errors;
}

interface JsonSchemaNode {
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  oneOf?: JsonSchemaNode[];
  anyOf?: JsonSchemaNode[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
}

/**
 * A part of a published request schema, by path: property names, with `type=<value>` to
 * pick the variant of a union (`['actions', 'type=http-request', 'method']`). For the
 * choices and defaults a form offers, read from the API rather than restated.
 */
export function schemaAt(openApi: unknown, name: string, path: readonly string[]): JsonSchemaNode | undefined {
  let node = (openApi as { components?: { schemas?: Record<string, JsonSchemaNode> } } | undefined)?.components?.schemas?.[name];
  for (const step of path) {
    if (!node) return undefined;
    if (node.items) node = node.items;
    const variant = /^type=(.+)$/.exec(step);
    if (variant) node = (node.oneOf ?? node.anyOf)?.find((v) => v.properties?.type?.const === variant[1]);
    else node = (node.oneOf ?? node.anyOf) && !node.properties ? undefined : node.properties?.[step];
  }
  return node;
}

export const enumAt = (openApi: unknown, name: string, path: readonly string[]): string[] => (schemaAt(openApi, name, path)?.enum ?? []).map(String);
export const defaultAt = (openApi: unknown, name: string, path: readonly string[]): string | undefined => {
  const value = schemaAt(openApi, name, path)?.default;
  return value === undefined ? undefined : String(value);
};

/** The `type` values of a union's variants (`['trigger']` → periodic, cron, manual, webhook). */
export function variantsAt(openApi: unknown, name: string, path: readonly string[]): string[] {
  let node = schemaAt(openApi, name, path);
  if (node?.items) node = node.items;
  return (node?.oneOf ?? node?.anyOf ?? []).map((v) => String(v.properties?.type?.const));
}
