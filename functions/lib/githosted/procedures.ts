/**
 * The Connect procedures the client calls, with their request and response
 * proto3 JSON shapes. Type-only imports: the generated `XxxJson` types check
 * our field names at compile time, and none of the generated code (nor the
 * protobuf-es runtime behind it) ends up in a bundle.
 */
import type * as api from './gen/githosted/v1/api_pb.js'
import type * as repo from './gen/githosted/v1/repo_pb.js'

interface Procedures {
  '/githosted.v1.ApiService/CreateToken': [api.CreateTokenRequestJson, api.CreateTokenResponseJson]
  '/githosted.v1.ApiService/ExchangeToken': [
    api.ExchangeTokenRequestJson,
    api.ExchangeTokenResponseJson,
  ]
  '/githosted.v1.ApiService/RevokeToken': [api.RevokeTokenRequestJson, api.RevokeTokenResponseJson]
  '/githosted.v1.ApiService/ListTokens': [api.ListTokensRequestJson, api.ListTokensResponseJson]
  '/githosted.v1.RepoService/CreateRepo': [repo.CreateRepoRequestJson, repo.CreateRepoResponseJson]
  '/githosted.v1.RepoService/ListFiles': [repo.ListFilesRequestJson, repo.ListFilesResponseJson]
  '/githosted.v1.RepoService/ReadFile': [repo.ReadFileRequestJson, repo.ReadFileResponseJson]
  '/githosted.v1.RepoService/WriteFile': [repo.WriteFileRequestJson, repo.WriteFileResponseJson]
  '/githosted.v1.RepoService/DeleteFile': [repo.DeleteFileRequestJson, repo.DeleteFileResponseJson]
  '/githosted.v1.RepoService/ListBranches': [
    repo.ListBranchesRequestJson,
    repo.ListBranchesResponseJson,
  ]
  '/githosted.v1.RepoService/Log': [repo.LogRequestJson, repo.LogResponseJson]
  '/githosted.v1.RepoService/Diff': [repo.DiffRequestJson, repo.DiffResponseJson]
}

/** `/githosted.v1.<Service>/<Method>`: the URL path and the name in error messages. */
export type Procedure = keyof Procedures
export type RequestJson<P extends Procedure> = Procedures[P][0]
export type ResponseJson<P extends Procedure> = Procedures[P][1]
