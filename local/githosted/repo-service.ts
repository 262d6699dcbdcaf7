import type { ConnectRouter, HandlerContext } from '@connectrpc/connect'
import { timestampFromDate } from '@bufbuild/protobuf/wkt'
import { RepoService } from '../../functions/lib/githosted/gen/githosted/v1/repo_pb.js'
import type { MessageInitShape } from '@bufbuild/protobuf'
import type { RepoSchema } from '../../functions/lib/githosted/gen/githosted/v1/types_pb.js'
import type { Backend } from './backend.js'
import { gitDiff } from './diff.js'
import { parseDirPath, parseFilePath, parseOptionalPath } from './paths.js'
import type { RepoRecord } from './state.js'

const DEFAULT_LOG_LIMIT = 100
const MAX_LOG_LIMIT = 1000

/** Repo metadata on the wire. */
export function repoMessage(r: RepoRecord): MessageInitShape<typeof RepoSchema> {
  return {
    id: r.id,
    workspaceId: r.workspaceId,
    name: r.name,
    slug: r.slug,
    defaultBranch: r.defaultBranch,
    createdAt: timestampFromDate(new Date(r.createdAt)),
  }
}

function auth(backend: Backend, ctx: HandlerContext) {
  return backend.authenticate(ctx.requestHeader.get('authorization'))
}

/** Registers githosted.v1.RepoService (the data plane) on a Connect router. */
export function registerRepoService(router: ConnectRouter, backend: Backend): void {
  router.service(RepoService, {
    async createRepo(req, ctx) {
      const token = auth(backend, ctx)
      backend.requireWorkspaceWriter(token, 'CreateRepo')
      backend.checkWorkspaceRef(token, req.workspaceRef)
      return { repo: repoMessage(await backend.createRepo(req.name, req.slug)) }
    },

    async deleteRepo(req, ctx) {
      const token = auth(backend, ctx)
      backend.requireWorkspaceWriter(token, 'DeleteRepo')
      const { record } = backend.repoFor(token, req.workspaceRef, req.repoRef, 'write')
      await backend.deleteRepo(record)
      return {}
    },

    async listFiles(req, ctx) {
      const token = auth(backend, ctx)
      const segments = parseDirPath('path', req.path)
      const { git } = backend.repoFor(token, req.workspaceRef, req.repoRef, 'read')
      const commit = await git.resolveCommit('ref', req.ref)
      return { entries: await git.listDir(commit, segments) }
    },

    async readFile(req, ctx) {
      const token = auth(backend, ctx)
      const segments = parseFilePath('path', req.path)
      const { git } = backend.repoFor(token, req.workspaceRef, req.repoRef, 'read')
      const commit = await git.resolveCommit('ref', req.ref)
      const { content, blobOid } = await git.readFile(commit, segments)
      return backend.compat ? { content } : { content, headSha: commit, sha: blobOid }
    },

    async writeFile(req, ctx) {
      const token = auth(backend, ctx)
      return backend.write(token, { ...req, content: req.content }, 'write_file')
    },

    async deleteFile(req, ctx) {
      const token = auth(backend, ctx)
      return backend.write(token, { ...req, content: null }, 'delete_file')
    },

    async listBranches(req, ctx) {
      const token = auth(backend, ctx)
      const { record, git } = backend.repoFor(token, req.workspaceRef, req.repoRef, 'read')
      const branches = await git.listBranches()
      return {
        branches: branches.map((b) => ({ ...b, isDefault: b.name === record.defaultBranch })),
      }
    },

    async log(req, ctx) {
      const token = auth(backend, ctx)
      const path = parseOptionalPath('path', req.path)
      const { git } = backend.repoFor(token, req.workspaceRef, req.repoRef, 'read')
      const limit = Math.min(req.limit || DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT)
      const commits = await backend.log(git, req.ref, path, limit)
      return {
        commits: commits.map((c) => ({
          hash: c.hash,
          authorName: c.authorName,
          authorEmail: c.authorEmail,
          committedAt: timestampFromDate(c.committedAt),
          subject: c.subject,
          ...(backend.compat ? {} : { message: c.message }),
        })),
      }
    },

    async diff(req, ctx) {
      const token = auth(backend, ctx)
      const path = parseOptionalPath('path', req.path)
      const { git } = backend.repoFor(token, req.workspaceRef, req.repoRef, 'read')
      const base = await git.resolveCommit('base', req.base)
      const head = await git.resolveCommit('head', req.head)
      return { patch: await gitDiff(git.gitdir, base, head, path?.join('/')) }
    },
  })
}
