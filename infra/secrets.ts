/**
 * The broker's secrets: created empty by the stack (filled with
 * `aws secretsmanager put-secret-value` after the first deploy) or imported by
 * ARN from context. Values never pass through CDK, the template or the CLI's
 * output.
 */
import { Aws, CfnResource, RemovalPolicy } from 'aws-cdk-lib'
import * as iam from 'aws-cdk-lib/aws-iam'
import * as kms from 'aws-cdk-lib/aws-kms'
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

export interface BrokerSecretsProps {
  /** Secrets to import instead of creating. */
  arns: Partial<Record<SecretKey, string>>
  /** Secret names are `<namePrefix>/<key>`, so stages never share a secret. */
  namePrefix: string
  /**
   * A customer managed KMS key: created secrets are encrypted with it, and
   * every function that reads a secret (created or imported) gets kms:Decrypt
   * on it through `grantRead`, limited by the key policy to Secrets Manager.
   */
  kmsKeyArn?: string
}

/** Creates or imports the four secrets. */
export class BrokerSecrets extends Construct {
  readonly secrets: Record<SecretKey, BrokerSecret>
  readonly key?: kms.IKey

  constructor(scope: Construct, id: string, props: BrokerSecretsProps) {
    super(scope, id)
    if (props.kmsKeyArn) this.key = kms.Key.fromKeyArn(this, 'Key', props.kmsKeyArn)
    const entries = SECRET_KEYS.map((key): [SecretKey, BrokerSecret] => {
      const arn = props.arns[key]
      if (arn) return [key, { secret: importSecret(this, key, arn, this.key), created: false }]
      return [key, { secret: createEmptySecret(this, key, `${props.namePrefix}/${kebab(key)}`, this.key), created: true }]
    })
    this.secrets = Object.fromEntries(entries) as Record<SecretKey, BrokerSecret>
  }

  /**
   * kms:Decrypt on the customer key, only when Secrets Manager asks for it on
   * the function's behalf. Explicit because `grantRead` cannot grant on an
   * imported key (its key policy is not ours), and the key policy must allow
   * the account's IAM policies (the default key policy does).
   */
  grantDecrypt(grantee: iam.IGrantable): void {
    if (!this.key) return
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
      }),
    )
  }
}

function createEmptySecret(scope: Construct, key: SecretKey, secretName: string, encryptionKey?: kms.IKey): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, pascal(key), {
    secretName,
    description: SECRET_DESCRIPTIONS[key],
    ...(encryptionKey ? { encryptionKey } : {}),
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

function importSecret(scope: Construct, key: SecretKey, arn: string, encryptionKey?: kms.IKey): secretsmanager.ISecret {
  // config.ts accepts complete ARNs only, so the grant names exactly this secret. With the
  // key, grantRead adds kms:Decrypt: without it a secret under a customer key cannot be read.
  return secretsmanager.Secret.fromSecretAttributes(scope, `Imported${pascal(key)}`, {
    secretCompleteArn: arn,
    ...(encryptionKey ? { encryptionKey } : {}),
  })
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

function pascal(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1)
}
