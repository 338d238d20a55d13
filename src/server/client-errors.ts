import type { Duplex } from 'node:stream';

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (malformed request line, headers
 * too large, headers or body too slow): the contract's JSON shape instead of Fastify's default.
 * These answers never pass the security-headers onSend hook, so they carry its non-HTML set here
 * (test/http/client-errors.test.ts keeps the two equal).
 */
export function answerClientError(https: boolean): (error: NodeJS.ErrnoException, socket: Duplex) => void {
  const headers = [
    'Content-Type: application/json; charset=utf-8',
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; object-src 'none'",
    'X-Content-Type-Options: nosniff',
    'X-Frame-Options: DENY',
    'Referrer-Policy: same-origin',
    'Cross-Origin-Resource-Policy: same-origin',
    'Cache-Control: no-store',
    ...(https ? ['Strict-Transport-Security: max-age=31536000; includeSubDomains'] : []),
    'Connection: close',
  ].join('\r\n');
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const body = JSON.stringify({
      error: { code: 'bad_request', message: timeout ? 'The request took too long to arrive.' : error.code === 'HPE_HEADER_OVERFLOW' ? 'The request headers are too large.' : 'The request could not be read.' },
    });
    const status = timeout ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.write(`HTTP/1.1 ${status}\r\n${headers}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    socket.destroy();
  };
}
