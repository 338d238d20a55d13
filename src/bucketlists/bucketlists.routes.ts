import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { RoutePlugin } from '../server/http.js';
import { resourceId } from '../server/path-id.js';
import { principal } from '../server/plugins/auth.js';
import { errorResponses, PageQuery } from '../server/schemas.js';
import type { BucketlistService } from './bucketlists.service.js';
import { bucketlistJson, itemJson, itemPatch, NAME_MAX_LENGTH, validName } from './bucketlists.service.js';

const Timestamp = Type.String({ format: 'date-time' });

const BucketlistSchema = Type.Object(
  { id: Type.Integer({ minimum: 1 }), name: Type.String(), created_at: Timestamp, updated_at: Timestamp },
  { $id: 'Bucketlist' },
);
const ItemSchema = Type.Object(
  { id: Type.Integer({ minimum: 1 }), name: Type.String(), done: Type.Boolean(), created_at: Timestamp, updated_at: Timestamp },
  { $id: 'Item' },
);
const BucketlistRef = Type.Ref('Bucketlist');
const ItemRef = Type.Ref('Item');

const BucketlistWithItems = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  name: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
  items: Type.Array(ItemRef, { description: 'Oldest first' }),
});
const BucketlistPage = Type.Object({
  items: Type.Array(BucketlistRef, { description: 'Oldest first' }),
  total: Type.Integer({ description: 'How many bucketlists match, on all pages' }),
  page: Type.Integer(),
  limit: Type.Integer(),
});
const ItemList = Type.Object({ items: Type.Array(ItemRef, { description: 'Oldest first' }) });

// Bounds and trimming are checked in code (code points after trimming), so the schema only says what it is.
const Name = Type.String({ description: `1–${NAME_MAX_LENGTH} characters after trimming; stored trimmed` });
const NameBody = Type.Object({ name: Name });
const NewItemBody = Type.Object({ name: Name, done: Type.Optional(Type.Boolean({ default: false })) });
const ItemBody = Type.Object({ name: Name, done: Type.Boolean() });
const ItemPatchBody = Type.Object({ name: Type.Optional(Name), done: Type.Optional(Type.Boolean()) }, { description: 'At least one of name and done' });

const ListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Only bucketlists whose name contains this text (case-insensitive)' })),
  ...PageQuery,
});

// Path ids are plain strings here and parsed by resourceId(): a malformed id is a 404 like an unknown one.
const ListParams = Type.Object({ id: Type.String({ description: 'Bucketlist id (a positive integer)' }) });
const ItemParams = Type.Object({
  id: Type.String({ description: 'Bucketlist id (a positive integer)' }),
  item_id: Type.String({ description: 'Item id (a positive integer)' }),
});

const security: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];
const tags = ['bucketlists'];

function owner(request: FastifyRequest): number {
  return principal(request).id;
}

/** The bucketlist and item routes: every one scoped to the authenticated owner. */
export const bucketlistRoutes: RoutePlugin<{ bucketlists: BucketlistService }> = async (app, { bucketlists }) => {
  app.addSchema(BucketlistSchema);
  app.addSchema(ItemSchema);

  app.get(
    '/api/bucketlists',
    {
      schema: {
        summary: 'Your bucketlists, oldest first, a page at a time',
        tags,
        security,
        querystring: ListQuery,
        response: { 200: BucketlistPage, ...errorResponses(401, 422) },
      },
    },
    async (request) => {
      const query = request.query;
      const page = await bucketlists.listBucketlists(owner(request), { q: query.q, limit: query.limit ?? 20, page: query.page ?? 1 });
      return { ...page, items: page.items.map(bucketlistJson) };
    },
  );

  app.post(
    '/api/bucketlists',
    {
      schema: {
        summary: 'Create a bucketlist',
        description: 'Names are unique per owner (exact match after trimming): a second list with the same name is 409 `conflict`.',
        tags,
        security,
        body: NameBody,
        response: { 201: BucketlistRef, ...errorResponses(400, 401, 403, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const { name } = request.body;
      const created = await bucketlists.createBucketlist(owner(request), name);
      return reply.status(201).send(bucketlistJson(created));
    },
  );

  app.get(
    '/api/bucketlists/:id',
    {
      schema: {
        summary: 'One of your bucketlists, with its items',
        tags,
        security,
        params: ListParams,
        response: { 200: BucketlistWithItems, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { bucketlist, items } = await bucketlists.getBucketlist(owner(request), resourceId(id));
      return { ...bucketlistJson(bucketlist), items: items.map(itemJson) };
    },
  );

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/api/bucketlists/:id',
      schema: {
        summary: 'Rename one of your bucketlists',
        tags,
        security,
        params: ListParams,
        body: NameBody,
        response: { 200: BucketlistRef, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
      },
      handler: async (request) => {
        // The contract's order: a bad body (422) is reported before an unknown id (404).
        const name = validName(request.body.name);
        const id = resourceId(request.params.id);
        return bucketlistJson(await bucketlists.renameBucketlist(owner(request), id, name));
      },
    });
  }

  app.delete(
    '/api/bucketlists/:id',
    {
      schema: {
        summary: 'Delete one of your bucketlists and its items',
        tags,
        security,
        params: ListParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await bucketlists.deleteBucketlist(owner(request), resourceId(request.params.id));
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/bucketlists/:id/items',
    {
      schema: {
        summary: 'The items of one of your bucketlists, oldest first',
        tags,
        security,
        params: ListParams,
        response: { 200: ItemList, ...errorResponses(401, 404) },
      },
    },
    async (request) => {
      const items = await bucketlists.listItems(owner(request), resourceId(request.params.id));
      return { items: items.map(itemJson) };
    },
  );

  app.post(
    '/api/bucketlists/:id/items',
    {
      schema: {
        summary: 'Add an item to one of your bucketlists',
        tags,
        security,
        params: ListParams,
        body: NewItemBody,
        response: { 201: ItemRef, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const input = { name: validName(body.name), done: body.done ?? false };
      const bucketlistId = resourceId(request.params.id);
      return reply.status(201).send(itemJson(await bucketlists.addItem(owner(request), bucketlistId, input)));
    },
  );

  const itemUpdates = [
    { method: 'PUT', body: ItemBody, summary: 'Replace an item: both name and done' },
    { method: 'PATCH', body: ItemPatchBody, summary: 'Change an item: name, done or both' },
  ] as const;
  for (const { method, body, summary } of itemUpdates) {
    app.route({
      method,
      url: '/api/bucketlists/:id/items/:item_id',
      schema: {
        summary,
        tags,
        security,
        params: ItemParams,
        body,
        response: { 200: ItemRef, ...errorResponses(400, 401, 403, 404, 413, 415, 422) },
      },
      handler: async (request) => {
        const patch = itemPatch(request.body);
        const params = request.params;
        const bucketlistId = resourceId(params.id);
        const itemId = resourceId(params.item_id);
        return itemJson(await bucketlists.updateItem(owner(request), bucketlistId, itemId, patch));
      },
    });
  }

  app.delete(
    '/api/bucketlists/:id/items/:item_id',
    {
      schema: {
        summary: 'Delete an item from one of your bucketlists',
        tags,
        security,
        params: ItemParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const params = request.params;
      const bucketlistId = resourceId(params.id);
      await bucketlists.deleteItem(owner(request), bucketlistId, resourceId(params.item_id));
      return reply.status(204).send(null);
    },
  );
};
