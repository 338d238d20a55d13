import Ajv from 'ajv';
import type { AnySchema, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import fastJsonStringify from 'fast-json-stringify';
import type { Schema as SerializerSchema } from 'fast-json-stringify';

/**
 * The compilers Fastify builds route schemas with, each compiled schema kept for the life of the
 * process under its JSON text. Every route declares the same few error answers (Error400 …
 * Error503), and compiling a serializer per route and status was two thirds of building the app
 * (about 0.5 s here); the tests build many apps in one process, and now compile each schema once.
 */

const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: false, removeAdditional: false } as const;

function ajvWithFormats(coerceTypes: false | 'array'): Ajv.default {
  const ajv = new Ajv.default({ ...AJV_OPTIONS, coerceTypes });
  addFormats.default(ajv);
  return ajv;
}

let ajvs: { body: Ajv.default; text: Ajv.default } | undefined;
const validators = new Map<string, ValidateFunction>();

/**
 * Query strings and path params are coerced from text; JSON bodies are not (a number is not a
 * username). Shared schemas are not added: no request schema refers to one.
 */
export function compileValidator({ schema, httpPart }: { schema: AnySchema; httpPart?: string }): ValidateFunction {
  const isBody = httpPart === 'body';
  const key = `${isBody ? 'body' : 'text'}\n${JSON.stringify(schema)}`;
  let validate = validators.get(key);
  if (validate === undefined) {
    ajvs ??= { body: ajvWithFormats(false), text: ajvWithFormats('array') };
    validate = (isBody ? ajvs.body : ajvs.text).compile(schema);
    validators.set(key, validate);
  }
  return validate;
}

type Serialize = (data: unknown) => string;
const serializers = new Map<string, Map<string, Serialize>>();

/**
 * Fastify's serializer factory (as @fastify/fast-json-stringify-compiler builds it: the shared
 * schemas given to fast-json-stringify, less the route's own `$id`), compiling each response
 * schema once per set of shared schemas.
 */
export function buildSerializer(externalSchemas?: unknown, options?: unknown) {
  const shared = (externalSchemas ?? {}) as Record<string, SerializerSchema>;
  const setKey = JSON.stringify([shared, options ?? {}]);
  let compiled = serializers.get(setKey);
  if (compiled === undefined) {
    compiled = new Map();
    serializers.set(setKey, compiled);
  }
  const cache = compiled;
  return ({ schema: routeSchema }: { schema?: unknown }): Serialize => {
    const schema = routeSchema as SerializerSchema;
    const key = JSON.stringify(schema);
    let serialize = cache.get(key);
    if (serialize === undefined) {
      const id = typeof schema === 'object' && schema !== null ? (schema as { $id?: unknown }).$id : undefined;
      const { [String(id)]: _own, ...others } = shared;
      const external = typeof id === 'string' && id in shared ? others : shared;
      serialize = fastJsonStringify(schema, { ...(options as object | undefined), schema: external }) as Serialize;
      cache.set(key, serialize);
    }
    return serialize;
  };
}
