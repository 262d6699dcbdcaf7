import { invalidArgument } from './errors.js'

const DEFAULT_PAGE_SIZE = 50
const MAX_PAGE_SIZE = 100

/**
 * Offset pagination behind an opaque token (base64url of the offset), the
 * shape githosted's list RPCs use: empty next_page_token = last page.
 */
export function paginate<T>(items: T[], pageSize: number, pageToken: string): { page: T[]; next: string } {
  let offset = 0
  if (pageToken !== '') {
    const decoded = Buffer.from(pageToken, 'base64url').toString('utf8')
    const match = /^o:(\d{1,9})$/.exec(decoded)
    if (!match) throw invalidArgument('pageToken', 'not a page token from a previous response')
    offset = Number(match[1])
  }
  const size = Math.min(pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
  const page = items.slice(offset, offset + size)
  const end = offset + page.length
  return { page, next: end < items.length ? Buffer.from(`o:${end}`).toString('base64url') : '' }
}
