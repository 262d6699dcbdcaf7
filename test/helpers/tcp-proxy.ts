/**
 * A TCP proxy in front of a server, which a test can stop and start again on
 * the same port: stopping closes the listener (new connections are refused)
 * and resets every open connection, as a server that goes down would.
 */
import net from 'node:net'

export interface PausableProxy {
  url: string
  stop(): Promise<void>
  start(): Promise<void>
  close(): Promise<void>
}

export async function startTcpProxy(target: string): Promise<PausableProxy> {
  const t = new URL(target)
  const sockets = new Set<net.Socket>()
  let server: net.Server | undefined
  let port = 0
  const listen = async () => {
    // noDelay both ways, as the server itself: HTTP/2's small frames must not wait for Nagle.
    const s = net.createServer({ noDelay: true }, (client) => {
      const upstream = net.connect({ port: Number(t.port), host: t.hostname, noDelay: true })
      sockets.add(client).add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        sockets.delete(client)
        sockets.delete(upstream)
      }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((ok, ko) => {
      s.once('error', ko)
      s.listen(port, '127.0.0.1', ok)
    })
    port = (s.address() as net.AddressInfo).port
    server = s
  }
  const stop = async () => {
    const s = server
    server = undefined
    for (const sock of sockets) sock.resetAndDestroy()
    sockets.clear()
    if (s) await new Promise<void>((ok) => s.close(() => ok()))
  }
  await listen()
  return { url: `http://127.0.0.1:${port}`, stop, start: listen, close: stop }
}
