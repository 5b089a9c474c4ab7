// The harness's safety net, run as a detached process: `node reaper.cjs <jest pid> <run dir>`.
// When jest dies without its global teardown (SIGKILL, crash), it kills every server whose process-group
// file (*.pgid) is in the run dir and removes the dir. The teardown ends this process when all went well.
'use strict';
const { readdirSync, readFileSync, rmSync, statSync } = require('node:fs');
const { join } = require('node:path');

const [parentPid, runDir] = [Number(process.argv[2]), process.argv[3]];

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pidFiles(dir) {
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (name.endsWith('.pgid')) return [path];
    try {
      return statSync(path).isDirectory() ? pidFiles(path) : [];
    } catch {
      return [];
    }
  });
}

const timer = setInterval(() => {
  if (alive(parentPid)) return;
  clearInterval(timer);
  for (const file of pidFiles(runDir)) {
    const pgid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(runDir, { recursive: true, force: true });
}, 1000);
