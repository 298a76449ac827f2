/**
 * mio's `priority_event_on_oob_data` (tests/tcp_stream.rs), kernel only: the
 * contract has no way to send out-of-band data, so the peer sends it with the
 * native `send(MSG_OOB)` the addon exposes.
 */
import { describe, expect, it } from "vitest";
import { C, sys } from "../src/native.js";
import { Events, Interest, Poll, TcpListener, TcpStream, Token, WOULD_BLOCK } from "../src/index.js";
import { rawFd } from "./support/fdinfo.js";
import { expectEvents } from "./support/util.js";

describe("kernel", () => {
  it("priority_event_on_oob_data", () => {
    const poll = new Poll();
    const events = new Events(8);
    const listener = TcpListener.bind("127.0.0.1:0");
    const client = TcpStream.connect(listener.localAddr());
    let server: TcpStream | undefined;
    try {
      poll.registry().register(listener, Token(0), Interest.READABLE);
      expectEvents(poll, events, [{ token: Token(0), readiness: { readable: true } }]);
      const accepted = listener.accept();
      if (accepted === WOULD_BLOCK) throw new Error("no connection to accept");
      server = accepted[0];
      poll.registry().register(server, Token(1), Interest.PRIORITY);

      expect(sys.send(rawFd(client), new Uint8Array([42]), C.MSG_OOB)).toBe(1);
      expectEvents(poll, events, [{ token: Token(1), readiness: { priority: true } }]);

      // the urgent byte is read with MSG_OOB, not in the normal stream
      const buf = new Uint8Array(4);
      expect(sys.recv(rawFd(server), buf, C.MSG_OOB)).toBe(1);
      expect(buf[0]).toBe(42);
      expect(server.read(buf)).toBe(WOULD_BLOCK);
    } finally {
      server?.close();
      client.close();
      listener.close();
      poll.close();
    }
  });
});
