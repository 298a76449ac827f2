/**
 * Which {@link Poll} the Node adapters watch a socket with: the Poll that
 * drives a virtual socket's Stack, or one process-wide real-time Poll for
 * kernel sockets.
 */
import type { TcpListener, TcpStream } from "../net/network.js";
import { Poll } from "../poll/poll.js";
import { VirtualTcpListener } from "../stack/tcp/listener.js";
import { VirtualTcpStream } from "../stack/tcp/socket.js";

/** Options every adapter takes. */
export interface AdapterOptions {
  /**
   * The Poll to watch the socket with. Default: for a virtual socket, the
   * Poll its Stack was made with; for a kernel socket, a process-wide
   * real-time Poll made on first use.
   */
  poll?: Poll;
}

let shared: Poll | null = null;

/** The Poll `source` is watched with (see {@link AdapterOptions.poll}). */
export function pollOf(source: TcpStream | TcpListener, options: AdapterOptions | undefined): Poll {
  if (options?.poll !== undefined) {
    if (!(options.poll instanceof Poll)) throw new TypeError("options.poll must be a Poll");
    return options.poll;
  }
  if (source instanceof VirtualTcpStream || source instanceof VirtualTcpListener) {
    const p = source.stackPoll;
    if (p === undefined) {
      throw new TypeError("this virtual socket's Stack has no Poll: make the Stack with { poll } (or pass { poll })");
    }
    return p;
  }
  return (shared ??= new Poll());
}
