/** The machine a run happened on, for the report header. */
import os from 'node:os'

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
    node: process.version,
    loadAvg: os.loadavg().map((l) => l.toFixed(2)).join(' / '),
  }
}
