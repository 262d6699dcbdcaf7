/** The machine a run happened on, for the report header. */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { CHILD_NODE } from './lambda-runner.js'

export interface MachineInfo {
  os: string
  cpu: string
  cores: number
  memoryGb: number
  node: string
  loadAvg: string
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus()
  return {
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: CHILD_NODE === process.execPath ? process.version : `${process.version} (harness); containers on ${execFileSync(CHILD_NODE, ['--version'], { encoding: 'utf8' }).trim()} (BENCH_NODE)`,
    loadAvg: os.loadavg().map((l) => l.toFixed(2)).join(' / '),
  }
}
