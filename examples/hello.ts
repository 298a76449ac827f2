/**
 * The mio README example in tsmio: a TcpListener and a TcpStream on one Poll.
 * The server accepts the connection and drops it; the client sees its event
 * and the program returns. Run it with `npm start`.
 */
import { Events, Interest, Poll, TcpListener, TcpStream, Token, WOULD_BLOCK } from "tsmio";

// Some tokens to tell which event is for which socket.
const SERVER = Token(0);
const CLIENT = Token(1);

export function main(addr = "127.0.0.1:13265"): void {
  // A poll instance and storage for its events.
  const poll = new Poll();
  const events = new Events(128);

  // The server socket, listening and registered for incoming connections.
  const server = TcpListener.bind(addr);
  poll.registry().register(server, SERVER, Interest.READABLE);

  // The client socket, connecting without blocking, registered for both directions.
  const client = TcpStream.connect(server.localAddr());
  poll.registry().register(client, CLIENT, Interest.READABLE.add(Interest.WRITABLE));

  try {
    // The event loop.
    for (;;) {
      // Wait for events without a time limit.
      poll.poll(events, null);
      for (const event of events) {
        switch (event.token()) {
          case SERVER: {
            // A connection is ready: accept it and close it at once, which
            // tells the client end of stream.
            const connection = server.accept();
            if (connection !== WOULD_BLOCK) {
              console.log(`server: accepted a connection from ${connection[1]}`);
              connection[0].close();
            }
            break;
          }
          case CLIENT:
            // The client can (likely) write or read without blocking. Since
            // the server just closes the connection, we are done.
            console.log(`client: ${event.isWritable() ? "writable" : "readable"}, done`);
            return;
          default:
            throw new Error(`unexpected token ${event.token()}`);
        }
      }
    }
  } finally {
    client.close();
    server.close();
    poll.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv[2]);
