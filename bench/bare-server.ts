/**
 * The floor for W3: a bare Fastify route that parses the same cookie header and returns the same
 * JSON as GET /check_session, with no authentication, no database and no logging. Started by
 * bench/run.ts with PORT, BODY (the JSON text to answer) and WORKERS (processes, like the server's).
 */
import cluster from 'node:cluster';
import cookie from '@fastify/cookie';
import Fastify from 'fastify';

const port = Number(process.env.PORT ?? 3999);
const workers = Number(process.env.WORKERS ?? 1);
const body = JSON.parse(process.env.BODY ?? '{}') as Record<string, unknown>;

async function serve(): Promise<void> {
  const app = Fastify();
  await app.register(cookie);
  app.get('/check_session', async (request, reply) => {
    if (!request.cookies.gatehouse_session) return reply.status(204).send();
    return body;
  });
  await app.listen({ port, host: '127.0.0.1' });
  process.stdout.write(`bare server listening on 127.0.0.1:${port} (pid ${process.pid})\n`);
  const stop = () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  cluster.on('exit', () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
} else {
  await serve();
}
