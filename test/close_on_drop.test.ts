/**
 * mio's tests/close_on_drop.rs: a client reads the end of stream once the
 * server closes ("drops") the connection it accepted. Dropping is `close()`.
 */
import { describe, expect, it } from "vitest";
import { Events, Interest, Token, type Registry, type TcpListener, type TcpStream } from "../src/index.js";
import { backends } from "./support/backends.js";
import { useCleanup } from "./support/harness.js";
import { ok } from "./support/util.js";

const SERVER = Token(0);
const CLIENT = Token(1);
const own = useCleanup();

type State = "Initial" | "AfterRead";

/** mio's TestHandler. */
class Handler {
  state: State = "Initial";
  shutdown = false;

  constructor(
    private readonly srv: TcpListener,
    private readonly cli: TcpStream,
  ) {}

  handleRead(registry: Registry, token: Token): void {
    if (token === SERVER) {
      // accept and drop at once
      ok(this.srv.accept())[0].close();
    } else if (token === CLIENT) {
      if (this.state === "Initial") {
        this.cli.read(new Uint8Array(4096));
        this.state = "AfterRead";
      }
      const n = this.cli.read(new Uint8Array(1024));
      expect(n, "the client socket should not be readable").toBe(0);
      this.shutdown = true;
    } else {
      throw new Error(`unknown token ${token}`);
    }
    registry.reregister(this.cli, CLIENT, Interest.READABLE);
  }

  handleWrite(registry: Registry, token: Token): void {
    expect(token, "writable for the listener").toBe(CLIENT);
    // connected
    registry.reregister(this.cli, CLIENT, Interest.READABLE);
  }
}

for (const b of backends) {
  describe(`close_on_drop.rs on ${b.name}`, () => {
    it("close_on_drop", () => {
      const poll = own(b.newPoll());
      const srv = own(b.server.tcpBind(b.addr()));
      poll.registry().register(srv, SERVER, Interest.READABLE);
      const sock = own(b.client.tcpConnect(srv.localAddr()));
      poll.registry().register(sock, CLIENT, Interest.WRITABLE);
      const events = new Events(1024);
      const handler = new Handler(srv, sock);

      const deadline = Date.now() + 5000;
      while (!handler.shutdown) {
        expect(Date.now(), "close_on_drop did not finish").toBeLessThan(deadline);
        poll.poll(events, 1000);
        for (const ev of events) {
          if (ev.isReadable()) handler.handleRead(poll.registry(), ev.token());
          if (ev.isWritable()) handler.handleWrite(poll.registry(), ev.token());
        }
      }
      expect(handler.state).toBe("AfterRead");
    });
  });
}
