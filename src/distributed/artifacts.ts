import * as core from '@actions/core'
import { DefaultArtifactClient } from '@actions/artifact'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../tempDir.js'
import { RECORD_FILE, type DigestRecord } from './digests.js'

/** Uploads a platform job's record as the run artifact `name` (one artifact per platform job). */
export async function uploadRecord(name: string, record: DigestRecord): Promise<void> {
  const dir = await tempDir('digests-')
  try {
    await writeFile(join(dir, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`)
    const res = await new DefaultArtifactClient().uploadArtifact(
      name,
      [join(dir, RECORD_FILE)],
      dir,
      { retentionDays: 1 }
    )
    core.info(`digests handed on as artifact ${name} (id ${res.id})`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Downloads every record of this run whose artifact name starts with `prefix`. */
export async function downloadRecords(prefix: string): Promise<DigestRecord[]> {
  const client = new DefaultArtifactClient()
  const { artifacts } = await client.listArtifacts({ latest: true })
  const ours = artifacts.filter(a => a.name.startsWith(prefix))
  const dir = await tempDir('digests-')
  try {
    const records: DigestRecord[] = []
    for (const a of ours) {
      const path = join(dir, String(a.id))
      await client.downloadArtifact(a.id, { path })
      records.push(JSON.parse(await readFile(join(path, RECORD_FILE), 'utf8')) as DigestRecord)
      core.info(`artifact ${a.name}: ${records[records.length - 1].images.length} image(s)`)
    }
    return records
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
