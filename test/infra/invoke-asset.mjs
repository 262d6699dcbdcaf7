// Loads a synthesized Lambda asset the way the Node.js runtime does (plain
// `node`, ESM import of index.mjs, no tsx, no node_modules next to it) and
// invokes its handler once.
//
// Usage: node invoke-asset.mjs <assetDir> <eventJsonFile> <resultJsonFile>
// The environment is the function's, prepared by the caller.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const [assetDir, eventFile, resultFile] = process.argv.slice(2)
const event = JSON.parse(readFileSync(eventFile, 'utf8'))
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'asset-under-test'
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: '2026/03/12/[$LATEST]2a5f0a8d6d7b4c1e9f3b2a1c0d9e8f7a',
  getRemainingTimeInMillis: () => 10_000,
  done() {},
  fail() {},
  succeed() {},
}

const mod = await import(pathToFileURL(join(assetDir, 'index.mjs')).href)
if (typeof mod.handler !== 'function') throw new Error('index.mjs exports no handler function')
const result = await mod.handler(event, context)
writeFileSync(resultFile, JSON.stringify({ result: result ?? null, node: process.version }))
