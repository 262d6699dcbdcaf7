// The necessary work: one unsigned keep-alive node:http POST of the same request.
import http from 'node:http'

export async function run(endpoint: string, table: string): Promise<void> {
  const body = JSON.stringify({ TableName: table, Key: { pk: { S: 'bench#cold' } } })
  const agent = new http.Agent({ keepAlive: true })
  await new Promise<void>((resolve, reject) => {
    const req = http.request(endpoint, { method: 'POST', agent, headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.GetItem', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume()
      res.on('end', resolve)
    })
    req.on('error', reject)
    req.end(body)
  })
  agent.destroy()
}
