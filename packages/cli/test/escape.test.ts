/** escapeControls: the mapping of control characters for human output (see src/output/escape.ts). */
import { describe, expect, it } from 'vitest';
import { escapeControls } from '../src/output/escape.ts';

describe('escapeControls', () => {
  it('escapes C0 controls, DEL, C1 controls and the backslash, one way each', () => {
    expect(escapeControls('a\x1b[31mred\x07')).toBe('a\\x1b[31mred\\a');
    expect(escapeControls('\n\r\t\v\f\b')).toBe('\\n\\r\\t\\v\\f\\b');
    expect(escapeControls('\x00\x01\x1f\x7f')).toBe('\\x00\\x01\\x1f\\x7f');
    expect(escapeControls('\u0080\u009b\u009f')).toBe('\\u0080\\u009b\\u009f');
    expect(escapeControls('back\\slash')).toBe('back\\\\slash');
    // A literal `\x1b` and an ESC print differently.
    expect(escapeControls('\\x1b')).not.toBe(escapeControls('\x1b'));
  });

  it('leaves printable text alone, whatever the script', () => {
    for (const s of ['plain', 'héllo wörld ✓.txt', '日本語', '\u00a0nbsp', 'emoji 🎉', '']) {
      expect(escapeControls(s)).toBe(s);
    }
  });

  it('gives the same answer on every call (no regex state kept)', () => {
    for (let i = 0; i < 3; i++) expect(escapeControls('x\ny')).toBe('x\\ny');
  });
});
