/**
 * Builds the CDK app: reads context, creates the stack, and registers the
 * cdk-nag AwsSolutions checks so that any unacknowledged finding fails synth.
 * Shared by infra/app.ts and the tests.
 */
import { App, type AppProps, Validations } from 'aws-cdk-lib'
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readConfig } from './config.js'
import { BrokerStack } from './stack.js'

/** Repository root, whatever the working directory. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** The stack of a stage: `GithostedCiBroker-<stage>`, so stages live side by side in one account and region. */
export function stackName(stage: string): string {
  return `GithostedCiBroker-${stage}`
}

export interface CreatedApp {
  app: App
  stack: BrokerStack
}

/**
 * Creates the app and stack; context comes from cdk.json/-c flags or
 * `props.context`. The region is `-c region=...`, else the CLI's default
 * (CDK_DEFAULT_REGION, from the AWS profile when there is one); the account
 * stays unresolved, so synth needs no credentials.
 */
export function createApp(props: AppProps = {}, projectRoot = PROJECT_ROOT, env: NodeJS.ProcessEnv = process.env): CreatedApp {
  const app = new App(props)
  const config = readConfig(app.node, env.CDK_DEFAULT_REGION ? { region: env.CDK_DEFAULT_REGION } : {})
  const stack = new BrokerStack(app, stackName(config.stage), {
    config,
    projectRoot,
    ...(config.region ? { env: { region: config.region } } : {}),
    description: `githosted-ci-broker (${config.stage}): scoped githosted tokens for CI and safe deploy-config updates`,
  })
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app))
  return { app, stack }
}
