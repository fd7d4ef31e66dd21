import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chooseBootstrap, parseGrastate, parseRecoveredPosition, type MemberPosition } from '../../src/lab/galera.ts';
import { LabError } from '../../src/lab/errors.ts';

// Which member starts a Galera cluster when none runs: never one that is behind.

const member = (host: string, seqno: number | null, safeToBootstrap = false): MemberPosition => ({ host, fresh: false, uuid: 'a7d3767f-e7a2-11f1-b94b-233917ceea9d', seqno, safeToBootstrap });
const fresh = (host: string): MemberPosition => ({ host, fresh: true, uuid: null, seqno: null, safeToBootstrap: false });

describe('starting a database cluster again', () => {
  test('reads grastate.dat as a member leaves it: a clean stop writes its position, a kill writes -1', () => {
    const clean = '# GALERA saved state\nversion: 2.1\nuuid:    a7d3767f-e7a2-11f1-b94b-233917ceea9d\nseqno:   131\nsafe_to_bootstrap: 1\n';
    assert.deepEqual(parseGrastate(clean), { uuid: 'a7d3767f-e7a2-11f1-b94b-233917ceea9d', seqno: 131, safeToBootstrap: true });
    assert.equal(parseGrastate(clean.replace('131', '-1').replace(': 1', ': 0'))?.seqno, -1);
    assert.equal(parseGrastate(''), null);
  });

  test("reads the position mariadbd --wsrep-recover finds in a killed member's InnoDB", () => {
    const log = '2026-11-24  1:05:39 0 [Note] InnoDB: Starting shutdown...\n2026-11-24  1:05:39 0 [Note] WSREP: Recovered position: a7d3767f-e7a2-11f1-b94b-233917ceea9d:118\n';
    assert.deepEqual(parseRecoveredPosition(log), { uuid: 'a7d3767f-e7a2-11f1-b94b-233917ceea9d', seqno: 118 });
    assert.equal(parseRecoveredPosition('[ERROR] Aborting'), null);
  });

  test('a new cluster starts from its first member', () => {
    assert.equal(chooseBootstrap([fresh('db-01'), fresh('db-02'), fresh('db-03')]).host, 'db-01');
  });

  test('a cluster starts from its most advanced member, wherever it is in the design, and never from a new one', () => {
    const choice = chooseBootstrap([member('db-01', 118), member('db-02', 131), fresh('db-03')]);
    assert.equal(choice.host, 'db-02');
    assert.match(choice.reason, /most advanced member \(transaction 131; db-01 at 118\)/);
  });

  test('between members equally advanced, the one that left last, else the first in the design', () => {
    assert.equal(chooseBootstrap([member('db-01', 131), member('db-02', 131), member('db-03', 131, true)]).host, 'db-03');
    assert.equal(chooseBootstrap([member('db-01', 131), member('db-02', 131)]).host, 'db-01');
  });

  test('a member whose position cannot be told stops the start, rather than risk its writes', () => {
    assert.throws(
      () => chooseBootstrap([member('db-01', 131), member('db-02', null)]),
      (error: unknown) => error instanceof LabError && error.code === 'cluster-position-unknown' && /db-02/.test(error.message),
    );
  });
});
