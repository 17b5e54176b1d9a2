import { z } from 'zod';
import type { RegisteredResource, ResourceRegistry } from './registry.js';
import { allowedMethods } from './request-steps.js';

/**
 * The OpenAPI 3.1 documents of both APIs. Paths, methods and actions come from the same
 * registry (zcloud.cn) or route table (OSP) the routers are built from, and request bodies from
 * the same zod schemas the validate step runs (zod's JSON Schema export, draft 2020-12, which is
 * OpenAPI 3.1's dialect), so the document cannot drift from what is served.
 */

export type JsonSchema = Record<string, unknown>;

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  tags?: string[];
  parameters?: JsonSchema[];
  requestBody?: JsonSchema;
  responses: Record<string, JsonSchema>;
  security?: Array<Record<string, string[]>>;
  [extension: `x-${string}`]: unknown;
}

export type HttpMethod = 'get' | 'put' | 'post' | 'delete';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  paths: Record<string, Partial<Record<HttpMethod, OpenApiOperation>>>;
  components: { schemas: Record<string, JsonSchema>; responses: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
  security: Array<Record<string, string[]>>;
  tags?: Array<{ name: string }>;
}

/** A zod schema as JSON Schema: of what a client sends (`input`, the default) or is answered. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  // Refinements and transforms have no JSON Schema; they are documented by the 422 they answer.
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
}

export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const responseRef = (name: string): JsonSchema => ({ $ref: `#/components/responses/${name}` });

export const BEARER_SECURITY: Record<string, JsonSchema> = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A token from the user login action (zcloud.cn) or POST /osp/api/login; both work on both APIs.',
  },
};

export const jsonBody = (schema: JsonSchema, description?: string): JsonSchema => ({
  required: true,
  ...(description ? { description } : {}),
  content: { 'application/json': { schema } },
});

export const jsonResponse = (description: string, schema: JsonSchema): JsonSchema => ({ description, content: { 'application/json': { schema } } });

/** The errors zcloud.cn answers (README "API behaviour in short"), one shared response each. */
const ERRORS: ReadonlyArray<[status: string, name: string, description: string]> = [
  ['401', 'Unauthorized', 'missing, invalid or expired token'],
  ['403', 'PermissionDenied', 'the caller may not do this'],
  ['404', 'NotFound', 'no such object, collection or action'],
  ['405', 'MethodNotAllowed', 'the URL does not take this method; `Allow` lists those it does'],
  ['409', 'Conflict', 'the object exists, or changed meanwhile'],
  ['422', 'InvalidInput', 'the body does not validate (`message` is `field.path: reason`) or is not JSON (`InvalidFormat`)'],
  ['500', 'ServerError', 'an internal failure (no details)'],
  ['503', 'ClusterUnavailable', 'the cluster, or the cache of this kind, is not available now'],
];

/** The error responses every operation may answer, by status. */
export function errorResponses(schemaName: string): { components: Record<string, JsonSchema>; refs: Record<string, JsonSchema> } {
  const components: Record<string, JsonSchema> = {};
  const refs: Record<string, JsonSchema> = {};
  for (const [status, name, description] of ERRORS) {
    components[name] = jsonResponse(`${name}: ${description}`, ref(schemaName));
    refs[status] = responseRef(name);
  }
  return { components, refs };
}

const ZcloudError: JsonSchema = {
  type: 'object',
  description: 'The one error envelope of zcloud.cn.',
  properties: {
    type: { const: 'error' },
    status: { type: 'integer' },
    code: { type: 'string', enum: [...ERRORS.map(([, name]) => name), 'InvalidFormat'] },
    message: { type: 'string' },
  },
  required: ['type', 'status', 'code', 'message'],
};

/**
 * What every object answers carries; the rest are the kind's own fields. Resources declare input
 * schemas only, so an object's other fields are open (additionalProperties).
 */
function objectSchema(entry: RegisteredResource): JsonSchema {
  return {
    type: 'object',
    description: `A ${entry.def.kind}.`,
    properties: {
      id: { type: 'string' },
      type: { const: entry.def.kind },
      links: { type: 'object', additionalProperties: { type: 'string', format: 'uri' } },
      creationTimestamp: { type: ['string', 'null'], format: 'date-time' },
    },
    required: ['id', 'type', 'links', 'creationTimestamp'],
    additionalProperties: true,
  };
}

function collectionSchema(entry: RegisteredResource): JsonSchema {
  return {
    type: 'object',
    properties: {
      type: { const: 'collection' },
      resourceType: { const: entry.def.kind },
      links: { type: 'object', properties: { self: { type: 'string', format: 'uri' } }, required: ['self'] },
      data: { type: 'array', items: ref(entry.def.kind) },
    },
    required: ['type', 'resourceType', 'links', 'data'],
  };
}

/** `{cluster_id}` → its path parameter. */
function pathParameters(template: string): JsonSchema[] {
  return [...template.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
}

/** Every collection of the registry with the path template it is served at. */
function collections(registry: ResourceRegistry): Array<{ entry: RegisteredResource; template: string }> {
  const out: Array<{ entry: RegisteredResource; template: string }> = [];
  for (const template of registry.collectionTemplates()) {
    const segments = template.split('/').filter(Boolean);
    let candidates = registry.roots;
    let entry: RegisteredResource | undefined;
    for (let i = 0; i < segments.length; i += 2) {
      entry = candidates.get(segments[i]);
      candidates = entry?.children ?? new Map();
    }
    if (entry) out.push({ entry, template });
  }
  return out;
}

/** The OpenAPI document of the zcloud.cn/v1 API served at `prefix`. */
export function zcloudOpenApi(registry: ResourceRegistry, prefix: string): OpenApiDocument {
  const errors = errorResponses('Error');
  const schemas: Record<string, JsonSchema> = { Error: ZcloudError };
  const paths: OpenApiDocument['paths'] = {};
  const kinds = new Set<string>();

  for (const { entry, template } of collections(registry)) {
    const { def } = entry;
    const kind = def.kind;
    kinds.add(kind);
    schemas[kind] ??= objectSchema(entry);
    schemas[`${kind}.collection`] ??= collectionSchema(entry);
    const opId = (verb: string): string => `${verb}:${template}`;
    const op = (verb: string, summary: string, rest: Omit<OpenApiOperation, 'operationId' | 'summary'>): OpenApiOperation => ({
      operationId: opId(verb),
      summary,
      tags: [kind],
      ...rest,
      responses: { ...rest.responses, ...errors.refs },
    });
    const collectionParams = pathParameters(template);
    const itemTemplate = `${template}/{${kind}_id}`;
    const itemParams = pathParameters(itemTemplate);

    const onCollection: Partial<Record<HttpMethod, OpenApiOperation>> = {};
    if (def.text) {
      onCollection.get = op('list', `Read ${entry.collectionName} (text, one line per entry)`, {
        parameters: collectionParams,
        responses: { '200': { description: `the ${entry.collectionName} as text lines, oldest first`, content: { 'text/plain': { schema: { type: 'string' } } } } },
      });
    } else if (allowedMethods(entry, false).includes('GET')) {
      onCollection.get = op('list', `List ${entry.collectionName}`, {
        parameters: [
          ...collectionParams,
          { name: 'filters', in: 'query', required: false, style: 'form', explode: true, schema: { type: 'object', additionalProperties: { type: 'string' } }, description: 'exact-match filters on top-level string fields, e.g. `?name=alice`' },
        ],
        responses: { '200': jsonResponse(`the ${entry.collectionName}`, ref(`${kind}.collection`)) },
      });
    }
    if (def.create) {
      schemas[`${kind}.create`] = jsonSchemaOf(def.create.input);
      onCollection.post = op('create', `Create a ${kind}`, {
        parameters: collectionParams,
        requestBody: jsonBody(ref(`${kind}.create`)),
        responses: { '201': jsonResponse(`the created ${kind}`, ref(kind)) },
      });
    }
    if (Object.keys(onCollection).length > 0) paths[template] = { ...paths[template], ...onCollection };

    const onItem: Partial<Record<HttpMethod, OpenApiOperation>> = {};
    if (def.get) onItem.get = op('get', `Get a ${kind}`, { parameters: itemParams, responses: { '200': jsonResponse(`the ${kind}`, ref(kind)) } });
    if (def.update) {
      schemas[`${kind}.update`] = jsonSchemaOf(def.update.input);
      onItem.put = op('update', `Update a ${kind}`, {
        parameters: itemParams,
        requestBody: jsonBody(ref(`${kind}.update`)),
        responses: { '200': jsonResponse(`the updated ${kind}`, ref(kind)) },
      });
    }
    if (def.remove) {
      onItem.delete = op('delete', `Delete a ${kind}`, {
        parameters: itemParams,
        responses: { '202': { description: 'deletion goes on in the background' }, '204': { description: 'deleted' } },
      });
    }
    const actions = Object.entries(def.actions ?? {});
    if (actions.length > 0) {
      const inputs: JsonSchema[] = [];
      const outputs: JsonSchema[] = [];
      for (const [name, action] of actions) {
        if (action.output) {
          schemas[`${kind}.${name}.output`] = { title: `${name} output`, ...jsonSchemaOf(action.output, 'output') };
          outputs.push(ref(`${kind}.${name}.output`));
        } else outputs.push({ title: `${name} output`, type: 'object' });
        if (!action.input) continue;
        schemas[`${kind}.${name}`] = { title: name, ...jsonSchemaOf(action.input) };
        inputs.push(ref(`${kind}.${name}`));
      }
      const publicActions = actions.filter(([, a]) => a.public).map(([name]) => name);
      onItem.post = op('action', `Run an action on a ${kind}: ${actions.map(([n]) => n).join(', ')}`, {
        parameters: [...itemParams, { name: 'action', in: 'query', required: true, schema: { type: 'string', enum: actions.map(([n]) => n) } }],
        ...(inputs.length > 0 ? { requestBody: { ...jsonBody({ oneOf: inputs }, 'the input of the named action (see x-zcloud-actions)'), required: false } } : {}),
        responses: { '200': jsonResponse("the named action's output (see x-zcloud-actions)", outputs.length === 1 ? outputs[0] : { oneOf: outputs }) },
        // Only a public action (login) may be called without a token.
        ...(publicActions.length > 0 ? { security: [{ bearerAuth: [] }, {}] } : {}),
        'x-zcloud-actions': Object.fromEntries(
          actions.map(([name, action]) => [
            name,
            {
              input: action.input ? ref(`${kind}.${name}`) : null,
              output: action.output ? ref(`${kind}.${name}.output`) : null,
              public: action.public === true,
            },
          ]),
        ),
      });
    }
    if (Object.keys(onItem).length > 0) paths[itemTemplate] = { ...paths[itemTemplate], ...onItem };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'zcloud.cn/v1',
      version: '1',
      description: 'The zcloud.cn/v1 API, generated from the resource definitions and zod schemas the router serves.',
    },
    servers: [{ url: prefix }],
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: { schemas, responses: errors.components, securitySchemes: BEARER_SECURITY },
    security: [{ bearerAuth: [] }],
    tags: [...kinds].sort().map((name) => ({ name })),
  };
}
