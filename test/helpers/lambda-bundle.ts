/**
 * Runs shipped Lambda bundles in-process: builds them with the same esbuild
 * config as `npm run build` into a temp dir, starts the local githosted and
 * a fake Secrets Manager (the bundles carry their own AWS SDK, which
 * in-process mocks cannot reach, so the SDK is pointed at a local server
 * through AWS_ENDPOINT_URL_SECRETS_MANAGER), sets the function environment
 * and imports the handlers. `close()` restores the environment and removes
 * everything it started.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda'
import { bundleFunction, type FunctionName } from '../../build/bundle.js'
import { hashBrokerKey } from '../../functions/lib/auth/broker-keys.js'
import { startFakeSecretsManager, type FakeSecretsManager } from './fake-secrets-manager.js'
import { startTestGithosted, type TestGithosted } from './githosted.js'
import { startTestState, type TestState } from './state-table.js'

/** An API Gateway HTTP API (payload 2.0) Lambda handler. */
export type ApiGatewayHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>

/** Region and static fake credentials, so the bundled SDK signs requests without looking further. */
const FAKE_AWS_ENV = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEFAKE00000',
  AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key-for-local-tests',
}

/** Secret ARNs as the stack names them (fake account). */
export const WORKSPACE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/workspace-token-AbCdEf'
export const KEYS_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broker/broker-keys-GhIjKl'

export interface LambdaBundleOptions<Name extends FunctionName> {
  functions: readonly Name[]
  /** SecretId (ARN) -> SecretString; may create githosted tokens. */
  secrets: (gh: TestGithosted) => Promise<Record<string, string>>
  /** The function variables (AWS endpoint, region and credentials are added). */
  env: (gh: TestGithosted) => Record<string, string>
  /** Variables removed for the run (so defaults apply), restored by close(). */
  unset?: readonly string[]
}

export interface LambdaBundles<Name extends FunctionName> {
  gh: TestGithosted
  sm: FakeSecretsManager
  /**
   * Imports a built handler. A distinct `container` imports a fresh module
   * instance, as a new Lambda container would (module state starts empty).
   */
  handler<H = ApiGatewayHandler>(name: Name, container?: string): Promise<H>
  close(): Promise<void>
}

/** Builds `functions`, starts githosted and Secrets Manager, and sets the environment. */
export async function startLambdaBundles<Name extends FunctionName>(
  options: LambdaBundleOptions<Name>,
): Promise<LambdaBundles<Name>> {
  const outdir = mkdtempSync(join(tmpdir(), `${options.functions.join('-')}-bundle-`))
  const saved: Record<string, string | undefined> = {}
  let gh: TestGithosted | undefined
  let sm: FakeSecretsManager | undefined
  let state: TestState | undefined
  const close = async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
    await sm?.close()
    await gh?.close()
    await state?.close()
    rmSync(outdir, { recursive: true, force: true })
  }
  try {
    const built = await Promise.all(
      options.functions.map((name) => bundleFunction(name, { outdir: join(outdir, name) })),
    )
    const urls = new Map(options.functions.map((name, i) => [name, pathToFileURL(built[i]!.outfile).href]))
    gh = await startTestGithosted()
    sm = await startFakeSecretsManager(await options.secrets(gh))
    state = await startTestState()
    const env = {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
      ...FAKE_AWS_ENV,
      // The shared state table on dynalite, reached with the same (fake) credentials.
      STATE_TABLE_NAME: state.tableName,
      STATE_TABLE_ENDPOINT: state.endpoint,
      STATE_TABLE_TIMEOUT_MS: state.env.STATE_TABLE_TIMEOUT_MS!,
      ...options.env(gh),
    }
    for (const name of [...Object.keys(env), ...(options.unset ?? [])]) saved[name] = process.env[name]
    Object.assign(process.env, env)
    for (const name of options.unset ?? []) delete process.env[name]
    return {
      gh,
      sm,
      handler: async <H>(name: Name, container?: string) => {
        const url = urls.get(name)!
        const mod = (await import(container ? `${url}?container=${container}` : url)) as { handler: H }
        return mod.handler
      },
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}

/**
 * The token and deploy functions' setup: a write workspace token named
 * `tokenName` and one broker key (`ci-legacy`, stored as its hash), with
 * OIDC_AUDIENCE set and the default secret cache period.
 */
export function workspaceAndBrokerKey(
  tokenName: string,
  brokerKey: string,
): Pick<LambdaBundleOptions<FunctionName>, 'secrets' | 'env' | 'unset'> {
  return {
    secrets: async (gh) => ({
      [WORKSPACE_ARN]: await gh.createToken({ name: tokenName, kind: 'workspace', permission: 'write' }),
      [KEYS_ARN]: JSON.stringify({ keys: [{ name: 'ci-legacy', sha256: hashBrokerKey(brokerKey) }] }),
    }),
    env: (gh) => ({
      WORKSPACE_TOKEN_SECRET_ARN: WORKSPACE_ARN,
      BROKER_KEYS_SECRET_ARN: KEYS_ARN,
      OIDC_AUDIENCE: 'githosted-ci-broker',
      GITHOSTED_URL: gh.url,
    }),
    unset: ['SECRET_CACHE_TTL_SECONDS'],
  }
}
