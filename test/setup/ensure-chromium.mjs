#!/usr/bin/env node
// The dashboard's browser test drives Debian's Chromium (npm cannot download a
// browser here). Make `npm test` self-sufficient on a fresh machine: install
// it when missing and we are root; otherwise say exactly what to run.
import { execSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
if (existsSync(path)) process.exit(0)

if (typeof process.getuid === 'function' && process.getuid() === 0) {
  console.log(`ensure-chromium: ${path} missing; installing Debian's chromium package`)
  try {
    execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', {
      stdio: 'inherit',
    })
  } catch {
    console.error('ensure-chromium: apt-get install chromium failed; the browser test cannot run')
    process.exit(1)
  }
  if (existsSync(path)) process.exit(0)
}
console.error(
  `ensure-chromium: no Chromium at ${path}. Install it (Debian: sudo apt-get install -y chromium) ` +
    'or set CHROMIUM_PATH to a Chromium binary.',
)
process.exit(1)
