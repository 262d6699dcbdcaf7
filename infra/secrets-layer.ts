/**
 * Where the functions' secrets come from, per region and architecture.
 *
 * The Parameters and Secrets Lambda Extension is published as a layer per
 * region and architecture, and not everywhere (arm64 exists in about 20
 * regions; none in ap-southeast-5, il-central-1, ...). CDK's own lookup on an
 * env-agnostic stack renders a CfnMapping that CloudFormation rejects at
 * deploy time in a missing region ("Unable to get mapping"). So the layer is
 * resolved here, at synth, for a known region:
 *
 *   - `-c paramsSecretsLayerArn=...` wins (a newer version, a private copy);
 *   - else CDK's fact table for (region, architecture);
 *   - else, or when the region is unknown at synth, no layer and
 *     SECRETS_SOURCE=sdk (the runtime's SDK reads Secrets Manager directly:
 *     same grants, a slower first read), with a synth warning saying so.
 */
import { Annotations } from 'aws-cdk-lib'
import * as lambda from 'aws-cdk-lib/aws-lambda'
import { RegionInfo } from 'aws-cdk-lib/region-info'
import type { IConstruct } from 'constructs'
import type { Architecture } from './config.js'

/** The extension version the stack pins; CDK's fact table knows its ARNs per region. */
export const PARAMS_SECRETS_VERSION = lambda.ParamsAndSecretsVersions.V1_0_103

export type SecretsSource =
  | { kind: 'extension'; layerArn: string; origin: 'override' | 'region-table' }
  | { kind: 'sdk'; why: string }

/** Decides the secrets source; pure, so tests can ask about any region. */
export function resolveSecretsSource(opts: {
  region?: string
  architecture: Architecture
  override?: string
}): SecretsSource {
  if (opts.override) return { kind: 'extension', layerArn: opts.override, origin: 'override' }
  if (!opts.region) {
    return {
      kind: 'sdk',
      why:
        'the deploy region is unknown at synth (no -c region=..., no CDK_DEFAULT_REGION), so no extension layer can be ' +
        'chosen; pass -c region=<region> to use the extension where AWS publishes it',
    }
  }
  const arn = RegionInfo.get(opts.region).paramsAndSecretsLambdaLayerArn(PARAMS_SECRETS_VERSION, opts.architecture)
  if (arn) return { kind: 'extension', layerArn: arn, origin: 'region-table' }
  return {
    kind: 'sdk',
    why:
      `AWS publishes no ${opts.architecture} Parameters and Secrets extension layer for ${opts.region} ` +
      `(version ${PARAMS_SECRETS_VERSION}) that CDK knows of; pass -c paramsSecretsLayerArn=<arn> if one exists`,
  }
}

/** Says in the synth output when the functions fall back to the SDK. */
export function announceSecretsSource(scope: IConstruct, source: SecretsSource): void {
  if (source.kind === 'sdk') {
    Annotations.of(scope).addWarningV2(
      'githosted-ci-broker:secrets-sdk-fallback',
      `Secrets are read with the AWS SDK (SECRETS_SOURCE=sdk): ${source.why}.`,
    )
  }
}
