import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
export const client = new SecretsManagerClient({ region: 'us-east-1' })
export const cmd = new GetSecretValueCommand({ SecretId: 'x' })
