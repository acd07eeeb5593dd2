/**
 * Measures how many bytes a command downloads into an empty Deno cache: it runs the command with
 * `DENO_DIR` set to a new temporary folder and `HTTPS_PROXY` set to a local proxy that counts the
 * bytes each host sends through it (TLS included, so the count is what crosses the network).
 *
 * ```sh
 * deno run -A tools/download_size.ts deno task eval --help
 * ```
 *
 * @module
 */
import { connect, createServer, type Socket } from "node:net";

const command = Deno.args;
if (command.length === 0) {
  console.error("usage: deno run -A tools/download_size.ts COMMAND [ARGS...]");
  Deno.exit(2);
}

const bytesByHost = new Map<string, number>();
const proxy = createServer((client: Socket) => {
  client.once("data", (head: Uint8Array) => {
    // A CONNECT request: "CONNECT host:port HTTP/1.1"; the tunnel then carries TLS both ways.
    const match = /^CONNECT ([^:\s]+):(\d+)/.exec(new TextDecoder().decode(head));
    if (match === null) {
      client.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
      return;
    }
    const [, host, port] = match;
    const upstream = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on("data", (chunk: Uint8Array) => {
      bytesByHost.set(host, (bytesByHost.get(host) ?? 0) + chunk.length);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
});
await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
const address = proxy.address();
if (address === null || typeof address === "string") throw new Error("proxy has no port");

const denoDir = await Deno.makeTempDir({ prefix: "halfprec-deno-dir-" });
const status = await new Deno.Command(command[0], {
  args: command.slice(1),
  env: { DENO_DIR: denoDir, HTTPS_PROXY: `http://127.0.0.1:${address.port}` },
  stdout: "null",
  stderr: "null",
}).spawn().status;
proxy.close();
await Deno.remove(denoDir, { recursive: true });

let total = 0;
for (const [host, bytes] of [...bytesByHost].sort((a, b) => b[1] - a[1])) {
  console.log(`${(bytes / 1e6).toFixed(2).padStart(8)} MB  ${host}`);
  total += bytes;
}
console.log(`${(total / 1e6).toFixed(2).padStart(8)} MB  in all (exit code ${status.code})`);
