// Echo server on Node's `net`, written the idiomatic way, Nagle off as on the
// tsmio server. Default: a 'data' handler that writes each chunk back and
// pauses reading while the socket's write buffer is full (the backpressure
// `pipe` does, minus the stream plumbing). `--pipe` uses `socket.pipe(socket)`.
// Usage: node bench/echo/net-server.mjs [--pipe]   Prints `port <n>` once listening; runs until killed.
import net from "node:net";

const usePipe = process.argv.includes("--pipe");

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on("error", () => socket.destroy());
  if (usePipe) {
    socket.pipe(socket);
    return;
  }
  socket.on("data", (chunk) => {
    if (!socket.write(chunk)) socket.pause();
  });
  socket.on("drain", () => socket.resume());
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`port ${server.address().port}\n`);
});
