// One GetItem through the product's DynamoDB client (bundled as the functions ship it).
import { createDynamoDb } from '../../../functions/lib/state/dynamodb.js'

export async function run(endpoint: string, table: string): Promise<void> {
  const db = createDynamoDb({ region: 'us-east-1', endpoint, credentials: () => ({ accessKeyId: 'bench', secretAccessKey: 'bench' }) })
  await db.call('GetItem', { TableName: table, Key: { pk: { S: 'bench#cold' } } })
  db.close()
}
