import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, jsonSchemaOf, ref, type HttpMethod, type JsonSchema, type OpenApiDocument, type OpenApiOperation } from './framework/openapi.js';
import { OSP_INPUTS, OSP_ROUTES, type OspRoute } from './osp.js';

const OspError: JsonSchema = {
  type: 'object',
  description: 'The OSP error envelope; `code` names the failure and the HTTP status matches it.',
  properties: {
    code: { type: 'string', enum: ['Unauthorized', 'Forbidden', 'NotFound', 'InvalidParameter', 'Conflict', 'ClusterUnavailable', 'InternalError', 'MethodNotAllowed'] },
    msg: { type: 'string' },
  },
  required: ['code', 'msg'],
};

const OspUser: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    email: { type: 'string' },
    create_time: { type: 'string', description: 'YYYY-MM-DD HH:mm:ss, UTC' },
    update_time: { type: 'string', description: 'YYYY-MM-DD HH:mm:ss, UTC' },
  },
  required: ['name', 'email', 'create_time', 'update_time'],
};

const containerSummary: JsonSchema = {
  type: 'array',
  items: { type: 'object', properties: { name: { type: 'string' }, status: { type: 'string' }, restarts: { type: 'integer' } }, required: ['name', 'status', 'restarts'] },
};

const OspPodSummary: JsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    namespace: { type: 'string' },
    containers: containerSummary,
    init_containers: containerSummary,
    restarts: { type: 'integer' },
    controlled: { type: 'string' },
    qos: { type: 'string' },
    created: { type: 'string' },
    status: { type: 'string', description: "kubectl's STATUS column" },
    node_name: { type: 'string' },
  },
  required: ['name', 'namespace', 'containers', 'init_containers', 'restarts', 'controlled', 'qos', 'created', 'status', 'node_name'],
};

/** What each handler puts in `data`. */
const OUTPUTS: Record<OspRoute['handler'], { summary: string; data: JsonSchema; parameters?: JsonSchema[] }> = {
  login: { summary: 'Log in with the plain password', data: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] } },
  createUser: { summary: 'Create a user (admin)', data: { type: 'null' } },
  listUsers: {
    summary: 'List users',
    data: { type: 'array', items: ref('User') },
    parameters: [{ name: 'name', in: 'query', required: false, schema: { type: 'string' } }],
  },
  updateUser: { summary: "Update a user's email or password", data: { type: 'null' } },
  listPods: {
    summary: 'List the pods of a cluster, from its cache',
    data: { type: 'array', items: ref('PodSummary') },
    parameters: [
      { name: 'namespace', in: 'query', required: false, schema: { type: 'string' } },
      { name: 'name', in: 'query', required: false, schema: { type: 'string' } },
    ],
  },
  getPod: {
    summary: 'Get one pod as the cache holds it, as JSON or YAML text',
    data: { oneOf: [{ type: 'object', description: 'the Pod object' }, { type: 'string', description: 'the Pod as YAML' }] },
    parameters: [{ name: 'output', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'yaml'], default: 'json' } }],
  },
};

/** `/pods/:cluster` → `/pods/{cluster}` and its path parameters. */
function openApiPath(expressPath: string): { path: string; parameters: JsonSchema[] } {
  const names = [...expressPath.matchAll(/:([A-Za-z_]+)/g)].map(([, name]) => name);
  return {
    path: expressPath.replace(/:([A-Za-z_]+)/g, '{$1}'),
    parameters: names.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
  };
}

/** The OpenAPI document of the OSP API served at `prefix`, from the route table its router registers. */
export function ospOpenApi(prefix: string): OpenApiDocument {
  const errors = errorResponses('Error');
  const schemas: Record<string, JsonSchema> = { Error: OspError, User: OspUser, PodSummary: OspPodSummary };
  const paths: OpenApiDocument['paths'] = {};
  for (const route of OSP_ROUTES) {
    const { path, parameters } = openApiPath(route.path);
    const output = OUTPUTS[route.handler];
    const input = OSP_INPUTS[route.handler];
    if (input) schemas[`${route.handler}.input`] = jsonSchemaOf(input);
    const operation: OpenApiOperation = {
      operationId: route.handler,
      summary: output.summary,
      parameters: [...parameters, ...(output.parameters ?? [])],
      ...(input ? { requestBody: jsonBody(ref(`${route.handler}.input`)) } : {}),
      responses: {
        '200': jsonResponse('Success', {
          type: 'object',
          properties: { code: { const: 'Success' }, msg: { const: 'Success' }, data: output.data },
          required: ['code', 'msg', 'data'],
        }),
        ...errors.refs,
      },
      ...(route.public ? { security: [] } : {}),
    };
    paths[path] = { ...paths[path], [route.method satisfies HttpMethod]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'OSP API', version: '1', description: 'The OSP API over the same users, authorizer and caches as zcloud.cn/v1.' },
    servers: [{ url: prefix }],
    paths,
    components: { schemas, responses: errors.components, securitySchemes: BEARER_SECURITY },
    security: [{ bearerAuth: [] }],
  };
}
