// HTTP/1.1 lets a client send requests one after another without waiting for the answers
// (pipelining). Node parses every request in what it reads from a connection and hands
// each on at once, so a client that sends thousands on one connection and never reads the
// answers makes the server hold a request, a response and Koa's context for each one:
// about 13 MiB of small requests from one client took a process past its heap limit. No
// browser pipelines, and clients that do keep a few requests outstanding. A connection with
// more than `max` requests not yet answered is closed at once; whatever else it sent (Node
// still hands on the rest of the data it had read) is dropped unread.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export const MAX_UNANSWERED_PER_CONNECTION = 16;

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** `handle`, for at most `max` unanswered requests per connection; `onClosed` hears of each connection closed for more. */
export function limitPipelining(handle: Handler, onClosed: (socket: Socket) => void, max = MAX_UNANSWERED_PER_CONNECTION): Handler {
  const unanswered = new WeakMap<Socket, number>();
  // One listener for every response (a response closes once): no closure per request.
  function answered(this: ServerResponse) {
    const socket = this.req.socket;
    unanswered.set(socket, (unanswered.get(socket) ?? 1) - 1);
  }
  return (req, res) => {
    const socket = req.socket;
    if (socket.destroyed) return;
    const count = (unanswered.get(socket) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      onClosed(socket);
      return;
    }
    unanswered.set(socket, count);
    res.on('close', answered);
    handle(req, res);
  };
}
