// One GetItem through @aws-sdk/client-dynamodb, loaded from node_modules as the Lambda runtime provides it.
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'

export async function run(endpoint: string, table: string): Promise<void> {
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } })
  await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'bench#cold' } } }))
  client.destroy()
}
