import { z } from 'zod';
import { CreateWorkflowBody, LoginBody, PatchWorkflowBody, ReplaceWorkflowBody, SignupBody, TriggerPayloadBody } from './schemas/requests.js';

/** JSON Schema (2020-12, which OpenAPI 3.1 uses as is) of what a client sends. */
const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });

const ErrorBody = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
};

const json = (s: unknown) => ({ content: { 'application/json': { schema: s } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string) => ({ description, ...json(ref('Error')) });
const ok = (description: string, s: unknown = { type: 'object' }) => ({ description, ...json(s) });
const body = (name: string) => ({ required: true, ...json(ref(name)) });
const page = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' } },
];
const workflowId = { name: 'workflowId', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]*$', maxLength: 64 } };
const ifMatch = { name: 'If-Match', in: 'header', schema: { type: 'string' }, description: 'The version the change is based on' };
const idempotencyKey = { name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 200 }, description: 'Same key within 24 h: the first run is returned' };
const common = { '400': error('Invalid request; details name each field'), '401': error('Missing or invalid token'), '404': error('Not found (or not yours)') };
const secured = [{ bearer: [] }];

/** The REST API as OpenAPI 3.1, its request bodies generated from the same zod schemas that validate them. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'Workflow automation API', version: '1.0.0' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: ErrorBody,
        Signup: schema(SignupBody),
        Login: schema(LoginBody),
        CreateWorkflow: schema(CreateWorkflowBody),
        ReplaceWorkflow: schema(ReplaceWorkflowBody),
        PatchWorkflow: schema(PatchWorkflowBody),
        TriggerPayload: schema(TriggerPayloadBody),
      },
    },
    paths: {
      '/healthz': { get: { summary: 'Liveness', responses: { '200': ok('Alive') } } },
      '/readyz': { get: { summary: 'Readiness (store reachable)', responses: { '200': ok('Ready'), '503': ok('Not ready') } } },
      '/openapi.json': { get: { summary: 'This document', responses: { '200': ok('OpenAPI 3.1') } } },
      '/auth/signup': {
        post: { summary: 'Create an account', requestBody: body('Signup'), responses: { '201': ok('Signed up, with a token'), '400': common['400'], '409': error('Email taken') } },
      },
      '/auth/login': {
        post: { summary: 'Get a token', requestBody: body('Login'), responses: { '200': ok('A token'), '401': error('Wrong email or password'), '429': error('Too many attempts') } },
      },
      '/workflows': {
        post: { summary: 'Create a workflow', security: secured, requestBody: body('CreateWorkflow'), responses: { '201': ok('Created'), ...common, '409': error('workflowId taken') } },
        get: { summary: 'List workflows', security: secured, parameters: page, responses: { '200': ok('A page of workflows'), ...common } },
      },
      '/workflows/{workflowId}': {
        parameters: [workflowId],
        get: { summary: 'Read a workflow', security: secured, responses: { '200': ok('The workflow'), ...common } },
        put: { summary: 'Replace a workflow', security: secured, parameters: [ifMatch], requestBody: body('ReplaceWorkflow'), responses: { '200': ok('Replaced'), ...common, '409': error('Version conflict') } },
        patch: { summary: 'Change part of a workflow', security: secured, parameters: [ifMatch], requestBody: body('PatchWorkflow'), responses: { '200': ok('Changed'), ...common, '409': error('Version conflict') } },
        delete: { summary: 'Delete a workflow', security: secured, parameters: [ifMatch], responses: { '204': { description: 'Deleted' }, ...common } },
      },
      '/workflows/{workflowId}/trigger': {
        parameters: [workflowId],
        post: {
          summary: 'Run a workflow now',
          security: secured,
          parameters: [idempotencyKey],
          requestBody: { required: false, ...json(ref('TriggerPayload')) },
          responses: { '202': ok('Accepted: { executionId }'), ...common, '409': error('Busy, pending a retry, or disabled'), '429': error('Rate limited') },
        },
      },
      '/workflows/{workflowId}/hook/rotate': {
        parameters: [workflowId],
        post: { summary: 'Rotate the webhook secret', security: secured, parameters: [ifMatch], responses: { '200': ok('The new hook URL and secret'), ...common, '409': error('Not a webhook workflow') } },
      },
      '/workflows/{workflowId}/executions': {
        parameters: [workflowId],
        get: { summary: 'Execution history, newest first', security: secured, parameters: page, responses: { '200': ok('A page of executions'), ...common } },
      },
      '/executions/{executionId}': {
        parameters: [{ name: 'executionId', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'One execution with its steps', security: secured, responses: { '200': ok('The execution'), ...common } },
      },
      '/hooks/{hookId}': {
        parameters: [{ name: 'hookId', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          summary: 'Call a webhook (secret in X-Hook-Secret)',
          parameters: [{ name: 'X-Hook-Secret', in: 'header', required: true, schema: { type: 'string' } }, idempotencyKey],
          requestBody: { required: false, ...json(ref('TriggerPayload')) },
          responses: { '202': ok('Accepted'), '404': error('Unknown hook or wrong secret'), '409': error('Busy'), '429': error('Rate limited') },
        },
      },
      '/hooks/{hookId}/{secret}': {
        parameters: [
          { name: 'hookId', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'secret', in: 'path', required: true, schema: { type: 'string' } },
        ],
        post: {
          summary: 'Call a webhook (secret in the path)',
          parameters: [idempotencyKey],
          requestBody: { required: false, ...json(ref('TriggerPayload')) },
          responses: { '202': ok('Accepted'), '404': error('Unknown hook or wrong secret'), '409': error('Busy'), '429': error('Rate limited') },
        },
      },
    },
  };
}
