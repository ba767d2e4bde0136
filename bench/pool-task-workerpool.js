'use strict';
// bench/pool-task.js's functions as workerpool's worker script.
const workerpool = require('workerpool');
const { noop, spin, buf } = require('./pool-task');

workerpool.worker({ noop, spin, buf });
