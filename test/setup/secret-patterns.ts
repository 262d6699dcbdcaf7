/**
 * What a leaked secret looks like in a log line. Shared by the log scan that
 * runs over the whole test suite and by tests that scan their own output.
 */
export const SECRET_PATTERNS: Array<{ name: string; re: RegExp }> = [
  { name: 'githosted workspace token', re: /\bgw_[A-Za-z0-9_-]{16,}/ },
  { name: 'githosted repo token', re: /\bgr_[A-Za-z0-9_-]{16,}/ },
  { name: 'broker key', re: /\bgbk_[A-Za-z0-9_-]{16,}/ },
  { name: 'JWT', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/ },
]

export function findSecrets(text: string): string[] {
  const hits: string[] = []
  for (const line of text.split('\n')) {
    for (const { name, re } of SECRET_PATTERNS) {
      if (re.test(line)) hits.push(`${name}: ${line.slice(0, 160).replace(re, '<redacted>')}`)
    }
  }
  return hits
}
