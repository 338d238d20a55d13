import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import { UnavailableError } from '../errors.js';
import type { GatehouseApp } from './app.js';
import { errorResponses } from './schemas.js';

const READY_TIMEOUT_MS = 2_000;

export async function healthRoutes(app: GatehouseApp, { ctx }: { ctx: AppContext }): Promise<void> {
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
          ctx.storage.ping(),
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
}
