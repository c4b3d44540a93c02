import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** After a 413, at most this much more of the body is read and dropped before the connection is closed (nginx's lingering close). */
export const LINGER_MAX_BYTES = 8 * 1024 * 1024;
/** ... and for at most this long (a sender trickling its body is not waited for forever). */
export const LINGER_MAX_MS = 10_000;
const CHECK_MS = 20;

const lingering = new WeakSet<Socket>();

/**
 * Closes the connection of a refused request (413) only once the sender has written its body, up to
 * LINGER_MAX_BYTES more, as nginx's lingering close does. Closing at once (what Node does for a
 * `Connection: close` answer) resets the connection under a sender still writing: it sees EPIPE or
 * ECONNRESET instead of the 413, and retries forever. The bytes are read and dropped by Node's HTTP
 * parser (the request is dumped); this only holds the close back. Node calls `socket.destroySoon()`
 * once the answer is written; the override applies to this one socket.
 */
export function lingerBeforeClose(request: IncomingMessage): void {
  const socket = request.socket as Socket | null;
  if (!socket || socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  socket.destroySoon = function lingeringClose(this: Socket) {
    const readBefore = socket.bytesRead;
    const startedAt = Date.now();
    const finish = (graceful: boolean) => {
      clearInterval(timer);
      if (graceful) socket.end();
      else socket.destroy();
    };
    // bytesRead counts what the parser took from the wire, also while it consumes the socket directly.
    const timer = setInterval(() => {
      if (socket.destroyed) finish(false);
      else if (request.complete) finish(true);
      else if (socket.bytesRead - readBefore > LINGER_MAX_BYTES || Date.now() - startedAt > LINGER_MAX_MS) finish(false);
    }, CHECK_MS);
    timer.unref();
    socket.once('close', () => clearInterval(timer));
    return this;
  };
}
