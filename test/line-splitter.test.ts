import test from 'ava';
import { LineSplitter } from '../agent/logs/line-splitter.js';

test('chunks that end mid-line and mid-character come out as whole lines', (t) => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  const text = Buffer.from('first line\r\nsecond: ünïcödé ✓\n\nthird without newline');
  // Every split point, one byte at a time, including inside multi-byte characters.
  for (let i = 0; i < text.length; i++) s.write(text.subarray(i, i + 1));
  s.end();
  t.deepEqual(lines, ['first line', 'second: ünïcödé ✓', '', 'third without newline']);
});

test('text chunks split anywhere give the same lines, and end adds nothing when the last line ended', (t) => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  for (const piece of ['10', '41\n10', '42\n', '1043\n']) s.write(piece);
  s.end();
  t.deepEqual(lines, ['1041', '1042', '1043']);
});

test('whole lines given as lines read as the same text written with newlines, also after a partial line', (t) => {
  const pieces: (string | string[])[] = [
    ['#1 one', '#1 two\r'],
    'part',
    ['ial', '#2 a step\nthat failed', ''],
    ['#3 after'],
  ];
  const asLines: string[] = [];
  const s = new LineSplitter((l) => asLines.push(l));
  for (const p of pieces) {
    if (typeof p === 'string') s.write(p);
    else s.writeLines(p);
  }
  s.end();
  const asText: string[] = [];
  const u = new LineSplitter((l) => asText.push(l));
  for (const p of pieces) u.write(typeof p === 'string' ? p : p.map((l) => `${l}\n`).join(''));
  u.end();
  t.deepEqual(asLines, asText);
  t.deepEqual(asLines, ['#1 one', '#1 two', 'partial', '#2 a step', 'that failed', '', '#3 after']);
});
