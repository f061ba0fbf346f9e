import test from 'ava';
import { WrittenRevisions } from '../coordinator/store/written-revisions.js';

test('an answer older than the write made here is behind; a key never written here never is', (t) => {
  const w = new WrittenRevisions();
  t.false(w.isBehind('a.x', undefined), 'not written here: whatever the replica says');
  w.wrote('a.x', 10);
  t.true(w.isBehind('a.x', undefined), 'no value after a create');
  t.true(w.isBehind('a.x', 9), 'an older revision');
  t.false(w.isBehind('a.x', 10));
  t.false(w.isBehind('a.x', 12), 'a later write by someone else');
  w.deleted('a.x', 12);
  t.true(w.isBehind('a.x', 12), 'the value deleted');
  t.true(w.isBehind('a.x', 10));
  t.false(w.isBehind('a.x', undefined), 'no value after a delete');
  t.false(w.isBehind('a.x', 14), 'made again since');
});

test('a late answer for an older write does not lower what is known; the oldest key is forgotten first', (t) => {
  const w = new WrittenRevisions(2);
  w.wrote('a.x', 10);
  w.wrote('a.x', 8);
  t.true(w.isBehind('a.x', 9));
  w.wrote('a.y', 1);
  t.deepEqual([...w.present(() => true)], ['a.x', 'a.y']);
  w.wrote('a.z', 2);
  t.deepEqual([...w.present(() => true)], ['a.y', 'a.z'], 'a.x, written longest ago, is forgotten');
  t.false(w.isBehind('a.x', undefined));
  w.deleted('a.y', 1);
  t.deepEqual([...w.present((k) => k.startsWith('a.'))], ['a.z'], 'a deleted key is not listed');
});
