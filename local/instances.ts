/**
 * `npm start -- --instances N`: N broker processes on one machine, the local
 * picture of N Lambda containers. Each is a separate Node process on its own
 * port, sharing one local githosted, one DynamoDB (dynalite), one broker key
 * and one OIDC issuer, so that what must hold across containers (single-use
 * ID tokens, revocation, rate limits, idempotency, event order, the write
 * lease) can be tried and tested for real, including `kill -9` of one.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import type { LocalOidcIssuer, MintOptions } from './oidc/index.js'
import type { CiProvider } from './oidc/index.js'

/** What a broker process needs; passed as JSON in LOCAL_BROKER_CONFIG (local credentials only). */
export interface BrokerProcessConfig {
  githostedUrl: string
  workspaceToken: string
  brokerKey: string
  policyFile: string
  policyIssuerUrls: Record<string, string>
  /** Where the parent mints local ID tokens (POST {provider, options}). */
  mintUrl: string
  state: { endpoint: string; tableName: string; region: string }
}

export interface BrokerProcess {
  url: string
  dashboard: string
  pid: number
  child: ChildProcess
}

/** The parent's minting endpoint, so every process's `/_local/id-token` uses the one issuer. */
export async function startMintEndpoint(oidc: Pick<LocalOidcIssuer, 'mint'>): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      void (async () => {
        try {
          const { provider, options } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { provider: CiProvider; options?: MintOptions }
          const token = await oidc.mint(provider, options)
          res.writeHead(200, { 'content-type': 'text/plain' }).end(token)
        } catch (err) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(err instanceof Error ? err.message : 'bad request')
        }
      })()
    })
  })
  await new Promise<void>((ok, ko) => {
    server.once('error', ko)
    server.listen(0, '127.0.0.1', ok)
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mint`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections()
        server.close(() => ok())
      }),
  }
}

/** A `mint` that asks the parent's endpoint. */
export function remoteMint(mintUrl: string): LocalOidcIssuer['mint'] {
  return async (provider, options) => {
    const res = await fetch(mintUrl, { method: 'POST', body: JSON.stringify({ provider, options }) })
    const text = await res.text()
    if (!res.ok) throw new Error(`local OIDC issuer: ${text}`)
    return text
  }
}

const ENTRY = new URL('./broker-process.ts', import.meta.url).pathname

/**
 * Starts `count` broker processes and waits until each listens. A process
 * that exits before it is ready fails the start with its last output.
 * Children exit when their stdin closes, so they die with the parent even
 * when the parent is killed with SIGKILL.
 */
export async function spawnBrokerProcesses(count: number, config: BrokerProcessConfig, output: NodeJS.WritableStream): Promise<BrokerProcess[]> {
  const starts = Array.from({ length: count }, (_, i) => spawnOne(i, config, output))
  const settled = await Promise.allSettled(starts)
  const failed = settled.find((s) => s.status === 'rejected')
  if (failed) {
    for (const s of settled) if (s.status === 'fulfilled') s.value.child.kill('SIGTERM')
    throw (failed as PromiseRejectedResult).reason
  }
  return settled.map((s) => (s as PromiseFulfilledResult<BrokerProcess>).value)
}

function spawnOne(index: number, config: BrokerProcessConfig, output: NodeJS.WritableStream): Promise<BrokerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { ...process.env, LOCAL_BROKER_CONFIG: JSON.stringify(config), LOCAL_BROKER_INDEX: String(index) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const tail: string[] = []
  return new Promise((resolve, reject) => {
    let ready = false
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      if (!ready && line.startsWith('{"brokerReady"')) {
        ready = true
        const msg = JSON.parse(line) as { url: string; dashboard: string }
        resolve({ url: msg.url, dashboard: msg.dashboard, pid: child.pid!, child })
        return
      }
      tail.push(line)
      if (tail.length > 20) tail.shift()
      output.write(`[broker ${index}] ${line}\n`)
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      tail.push(chunk.toString('utf8'))
      output.write(chunk)
    })
    child.once('exit', (code, signal) => {
      if (!ready) reject(new Error(`broker process ${index} exited before it was ready (${signal ?? code}):\n${tail.join('\n')}`))
    })
  })
}

/** Stops a broker process and waits until it has exited (its port is free then). */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done()
    child.once('exit', () => done())
    child.kill('SIGTERM')
  })
}
