/**
 * mio's tests/registering.rs: register, reregister and deregister kernel
 * sockets, and the one-Registry-per-source rule (mio checks it with debug
 * assertions; tsmio always does, with `EEXIST`).
 */
import { describe, expect, it } from "vitest";
import { Events, Interest, Token, WOULD_BLOCK, type TcpListener, type TcpStream } from "../src/index.js";
import { backends } from "./support/backends.js";
import { expectIoError, sleepSync, useCleanup } from "./support/harness.js";
import { expectEvents, expectNoEvents, ok } from "./support/util.js";

const SERVER = Token(0);
const CLIENT = Token(1);
const R = Interest.READABLE;
const W = Interest.WRITABLE;
const RW = R.add(W);

const own = useCleanup();

for (const b of backends) {
  describe(`registering.rs on ${b.name}`, () => {
    it("register_deregister", () => {
      const poll = own(b.newPoll());
      const events = new Events(1024);
      const server: TcpListener = own(b.server.tcpBind(b.addr()));
      poll.registry().register(server, SERVER, R);
      // the client is registered for READABLE only at first
      const client: TcpStream = own(b.client.tcpConnect(server.localAddr()));
      poll.registry().register(client, CLIENT, R);

      let state = 0;
      const deadline = Date.now() + 5000;
      for (;;) {
        expect(Date.now(), "register_deregister did not finish").toBeLessThan(deadline);
        poll.poll(events, 1000);
        // like mio's handler, look at the first event only
        const ev = events.iter().next();
        if (ev.done) continue;
        const token = ev.value.token();
        const writable = ev.value.isWritable();
        if (ev.value.isReadable()) {
          if (token === SERVER) {
            const [sock] = ok(server.accept());
            own(sock);
            const n = sock.write(new TextEncoder().encode("foobar"));
            if (n !== WOULD_BLOCK) expect(n).toBe(6);
          } else {
            expect(token).toBe(CLIENT);
            expect(state).toBe(0);
            state = 1;
            poll.registry().reregister(client, CLIENT, W);
          }
        }
        if (writable) {
          expect(token).toBe(CLIENT);
          expect(state).toBe(1);
          state = 2;
          poll.registry().deregister(client);
          poll.registry().deregister(server);
          break;
        }
      }
      expect(state).toBe(2);
      poll.poll(events, 100);
      expect(events.isEmpty()).toBe(true);
    });

    it("reregister_different_interest_without_poll", () => {
      const poll = own(b.newPoll());
      const events = new Events(1024);
      const l = own(b.server.tcpBind(b.addr()));
      poll.registry().register(l, Token(0), R);
      const s1 = own(b.client.tcpConnect(l.localAddr()));
      poll.registry().register(s1, Token(2), R);
      // the connection arrives: the listener is readable, nobody polls
      sleepSync(200);
      // a listener never turns writable, and its readability is no longer of interest
      poll.registry().reregister(l, Token(0), W);
      poll.poll(events, 200);
      expect([...events].map(String)).toEqual([]);
    });

    it("tcp_register_multiple_event_loops", () => {
      const l = own(b.server.tcpBind(b.addr()));
      const poll1 = own(b.newPoll());
      poll1.registry().register(l, Token(0), RW);
      const poll2 = own(b.newPoll());
      expectIoError(() => poll2.registry().register(l, Token(0), RW), "EEXIST", "already registered");

      const stream = own(b.client.tcpConnect(l.localAddr()));
      poll1.registry().register(stream, Token(1), RW);
      expectIoError(() => poll2.registry().register(stream, Token(1), RW), "EEXIST", "already registered");
    });

    it("udp_register_multiple_event_loops", () => {
      const socket = own(b.server.udpBind(b.addr()));
      const poll1 = own(b.newPoll());
      poll1.registry().register(socket, Token(0), RW);
      const poll2 = own(b.newPoll());
      expectIoError(() => poll2.registry().register(socket, Token(0), RW), "EEXIST", "already registered");
    });

    it("registering_after_deregistering", () => {
      const poll = own(b.newPoll());
      const events = new Events(8);
      const server = own(b.server.tcpBind(b.addr()));
      poll.registry().register(server, SERVER, R);
      poll.registry().deregister(server);
      poll.registry().register(server, SERVER, R);
      poll.poll(events, 100);
      expect(events.isEmpty()).toBe(true);
    });

    it("a source moves to another poll after deregister, or after its poll closes", () => {
      const socket = own(b.server.udpBind(b.addr()));
      const events = new Events(8);
      const poll1 = own(b.newPoll());
      const poll2 = own(b.newPoll());
      poll1.registry().register(socket, Token(1), W);
      poll1.registry().deregister(socket);
      poll2.registry().register(socket, Token(2), W);
      expectEvents(poll2, events, [{ token: Token(2), readiness: { writable: true } }]);
      expectNoEvents(poll1, events);

      poll2.close();
      const poll3 = own(b.newPoll());
      poll3.registry().register(socket, Token(3), W);
      expectEvents(poll3, events, [{ token: Token(3), readiness: { writable: true } }]);
    });

    it("a cloned registry is the same poll", () => {
      const poll = own(b.newPoll());
      const events = new Events(8);
      const clone = poll.registry().tryClone();
      const socket = own(b.server.udpBind(b.addr()));
      clone.register(socket, Token(4), W);
      expectIoError(() => poll.registry().register(socket, Token(5), W), "EEXIST", "already registered");
      expectEvents(poll, events, [{ token: Token(4), readiness: { writable: true } }]);
      poll.registry().deregister(socket);
      expectIoError(() => clone.deregister(socket), "ENOENT", "not registered");
    });

    it("registering a closed source throws EBADF", () => {
      const poll = own(b.newPoll());
      const socket = b.server.udpBind(b.addr());
      socket.close();
      expectIoError(() => poll.registry().register(socket, Token(1), R), "EBADF");
    });
  });
}
