'use strict';
// mocha's spec reporter, plus the plain closing line CI reads:
// "mocha: N passed, N failed, N skipped", and why each skipped test was
// skipped (helpers.skip records the reason; a skip without one says so).
const Mocha = require('mocha');

class Reporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const skipped = [];
    runner.on('pending', (test) => {
      const why = test.skipReason || 'no reason given';
      skipped.push(`${test.fullTitle()}: ${why}`);
      process.stdout.write(`        why: ${why}\n`);
    });
    runner.once('end', () => {
      const s = runner.stats;
      for (const line of skipped) process.stdout.write(`skipped: ${line}\n`);
      process.stdout.write(`mocha: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
    });
  }
}

module.exports = Reporter;
