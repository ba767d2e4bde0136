'use strict';
// Prints 1 where hiredis's headers are found (binding.gyp builds Redis
// support then), else 0: the addon builds without it, and new RedisStore()
// says which package to install.
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');

const dirs = ['/usr/include', '/usr/local/include'];
const found = dirs.some((d) => fs.existsSync(`${d}/hiredis/async.h`)) ||
  spawnSync('sh', ['-c', 'pkg-config --exists hiredis'], { stdio: 'ignore' }).status === 0;
process.stdout.write(found && process.env.UVASYNC_NO_HIREDIS === undefined ? '1' : '0');
