import { Type } from 'typebox';
import { UnavailableError } from '../errors.js';
import type { Storage } from '../storage/database.js';
import type { RoutePlugin } from './http.js';
import { errorResponses } from './schemas.js';

const READY_TIMEOUT_MS = 2_000;

export const healthRoutes: RoutePlugin<{ storage: Pick<Storage, 'ping'> }> = async (app, { storage }) => {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { summary: 'The process is up', tags: ['operations'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: { summary: 'The database answers', tags: ['operations'], response: { 200: Type.Object({ status: Type.Literal('ready') }), ...errorResponses(503) } },
    },
    async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          storage.ping(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('timeout')), READY_TIMEOUT_MS);
          }),
        ]);
      } catch {
        throw new UnavailableError();
      } finally {
        clearTimeout(timer);
      }
      return { status: 'ready' as const };
    },
  );
};
