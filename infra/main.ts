/**
 * Builds the CDK app: reads context, creates the stack, and registers the
 * cdk-nag AwsSolutions checks so that any unacknowledged finding fails synth.
 * Shared by infra/app.ts and the tests.
 */
import { App, type AppProps, Validations } from 'aws-cdk-lib'
import { AwsSolutionsChecks } from 'cdk-nag'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readConfig } from './config.js'
import { BrokerStack } from './stack.js'

/** Repository root, whatever the working directory. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export const STACK_NAME = 'GithostedCiBroker'

export interface CreatedApp {
  app: App
  stack: BrokerStack
}

/** Creates the app and stack; context comes from cdk.json/-c flags or `props.context`. */
export function createApp(props: AppProps = {}, projectRoot = PROJECT_ROOT): CreatedApp {
  const app = new App(props)
  const config = readConfig(app.node)
  const stack = new BrokerStack(app, STACK_NAME, {
    config,
    projectRoot,
    description: 'githosted-ci-broker: scoped githosted tokens for CI and safe deploy-config updates',
  })
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
  return { app, stack }
}
