import { describe, expect, it } from 'vitest'
import { Code, ConnectError } from '@connectrpc/connect'
import { checkBranchName, parseDirPath, parseFilePath, parseRevision } from '../../../local/githosted/paths.js'

function codeOf(fn: () => unknown): Code | 'ok' {
  try {
    fn()
    return 'ok'
  } catch (err) {
    return ConnectError.from(err).code
  }
}

describe('paths', () => {
  it('splits good file paths', () => {
    expect(parseFilePath('path', 'environments/staging.json')).toEqual(['environments', 'staging.json'])
    expect(parseFilePath('path', '.github/x.yml')).toEqual(['.github', 'x.yml'])
  })

  it.each(['', '..', '../x', 'a/..', '/abs', 'a//b', 'a/', 'a\\b', 'a\u0000b', 'a\nb', '.git', 'x/.Git/y', '.', 'x/./y'])(
    'refuses file path %j',
    (p) => {
      expect(codeOf(() => parseFilePath('path', p))).toBe(Code.InvalidArgument)
    },
  )

  it('treats "", "/" as root and allows one trailing slash for directories', () => {
    expect(parseDirPath('path', '')).toEqual([])
    expect(parseDirPath('path', '/')).toEqual([])
    expect(parseDirPath('path', 'src/')).toEqual(['src'])
    expect(codeOf(() => parseDirPath('path', '/etc'))).toBe(Code.InvalidArgument)
  })

  it('checks branch names', () => {
    for (const ok of ['main', 'feature/new-api', 'release-1.2']) expect(codeOf(() => checkBranchName('b', ok))).toBe('ok')
    for (const bad of ['', 'a..b', '/x', 'x/', '-x', 'x.lock', 'a b', 'HEAD', 'a/.hidden', 'x//y']) {
      expect(codeOf(() => checkBranchName('b', bad))).toBe(Code.InvalidArgument)
    }
  })

  it('parses revisions with ~N and ^', () => {
    expect(parseRevision('ref', 'HEAD~2')).toEqual({ base: 'HEAD', back: 2 })
    expect(parseRevision('ref', 'main^^')).toEqual({ base: 'main', back: 2 })
    expect(parseRevision('ref', 'abc1234~')).toEqual({ base: 'abc1234', back: 1 })
    expect(codeOf(() => parseRevision('ref', '~1'))).toBe(Code.InvalidArgument)
    expect(codeOf(() => parseRevision('ref', 'HEAD@{1}'))).toBe(Code.InvalidArgument)
  })
})
