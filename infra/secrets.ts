/**
 * The broker's secrets: created empty by the stack (filled with
 * `aws secretsmanager put-secret-value` after the first deploy) or imported by
 * ARN from context. Values never pass through CDK, the template or the CLI's
 * output.
 */
import { CfnResource, RemovalPolicy } from 'aws-cdk-lib'
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager'
import { Construct } from 'constructs'
import { SECRET_KEYS, type SecretKey } from './config.js'

/** What each secret holds; shown as the secret's description in the console. */
export const SECRET_DESCRIPTIONS: Record<SecretKey, string> = {
  workspaceToken: 'githosted workspace token (gw_...), raw string. Read by token, deploy, events.',
  dashboardToken: 'githosted read-only repo token (gr_...) for status reads, raw string. Read by status.',
  brokerKeys: 'Broker API key hashes: {"keys":[{"name":"...","sha256":"<hex>"}]}. Never raw keys.',
  viewerCredential: 'Dashboard viewer credential, stored hashed. Read by status.',
}

export interface BrokerSecret {
  secret: secretsmanager.ISecret
  /** True when this stack created the secret (and the output shows how to fill it). */
  created: boolean
}

/** Creates or imports the four secrets. */
export class BrokerSecrets extends Construct {
  readonly secrets: Record<SecretKey, BrokerSecret>

  constructor(scope: Construct, id: string, arns: Partial<Record<SecretKey, string>>) {
    super(scope, id)
    const entries = SECRET_KEYS.map((key): [SecretKey, BrokerSecret] => {
      const arn = arns[key]
      if (arn) return [key, { secret: importSecret(this, key, arn), created: false }]
      return [key, { secret: createEmptySecret(this, key), created: true }]
    })
    this.secrets = Object.fromEntries(entries) as Record<SecretKey, BrokerSecret>
  }
}

function createEmptySecret(scope: Construct, key: SecretKey): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, pascal(key), {
    description: SECRET_DESCRIPTIONS[key],
    // Deleting the stack schedules deletion (7-30 day recovery window), it does not
    // destroy the value on the spot.
    removalPolicy: RemovalPolicy.DESTROY,
  })
  // The L2 construct always generates a random value. CloudFormation creates an
  // *empty* secret (no version) when neither SecretString nor GenerateSecretString
  // is set: the functions then fail closed with a clear ConfigError until the
  // operator stores the real value, instead of running with a random string.
  ;(secret.node.defaultChild as CfnResource).addPropertyDeletionOverride('GenerateSecretString')
  return secret
}

function importSecret(scope: Construct, key: SecretKey, arn: string): secretsmanager.ISecret {
  // config.ts accepts complete ARNs only, so the grant names exactly this secret.
  return secretsmanager.Secret.fromSecretCompleteArn(scope, `Imported${pascal(key)}`, arn)
}

function pascal(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1)
}
