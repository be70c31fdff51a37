import { describe, expect, it } from 'vitest';
import { type FlagSpec, parseFlags } from '../src/args/flags.ts';
import { UsageError } from '../src/errors.ts';

const SPECS: FlagSpec[] = [
  { name: 'to', kind: 'string', value: 'DIR', description: '' },
  { name: 'fast', kind: 'boolean', description: '' },
  { name: 'tag', kind: 'list', value: 'TAG', description: '' },
  { name: 'help', kind: 'boolean', aliases: ['h'], description: '' },
];

describe('parseFlags', () => {
  it('takes -flag VALUE, -flag=VALUE, --flag and booleans, interleaved with arguments', () => {
    const { flags, args } = parseFlags(
      ['a', '-to', '/x', 'b', '--fast', '-tag=t1,t2', '-tag', 't3'],
      SPECS,
      'cmd',
    );
    expect(args).toEqual(['a', 'b']);
    expect(flags.string('to')).toBe('/x');
    expect(flags.bool('fast')).toBe(true);
    expect(flags.list('tag')).toEqual(['t1', 't2', 't3']);
  });

  it('treats everything after -- as arguments, and a lone - as an argument', () => {
    const { flags, args } = parseFlags(['-', '--', '-fast', '-to'], SPECS, 'cmd');
    expect(args).toEqual(['-', '-fast', '-to']);
    expect(flags.bool('fast')).toBe(false);
  });

  it('accepts -flag=false for booleans and refuses other values', () => {
    expect(parseFlags(['-fast=false'], SPECS, 'c').flags.bool('fast')).toBe(false);
    expect(parseFlags(['-fast=true'], SPECS, 'c').flags.bool('fast')).toBe(true);
    expect(() => parseFlags(['-fast=maybe'], SPECS, 'c')).toThrow(/takes true or false/);
  });

  it('a value may start with a dash when given with = or as the next argument', () => {
    expect(parseFlags(['-to', '-weird'], SPECS, 'c').flags.string('to')).toBe('-weird');
    expect(parseFlags(['-to=-weird'], SPECS, 'c').flags.string('to')).toBe('-weird');
  });

  it('resolves aliases', () => {
    expect(parseFlags(['-h'], SPECS, 'c').flags.bool('help')).toBe(true);
  });

  it.each([
    [['-nope'], /unknown flag "-nope" for c/],
    [['-to'], /flag -to for c needs a value \(-to DIR\)/],
    [['-to', 'a', '-to', 'b'], /given more than once/],
    [['-to='], /needs a non-empty value/],
    [['-'.concat('')], null],
    [['--'], null],
  ])('%j', (argv, error) => {
    if (error === null) expect(() => parseFlags(argv, SPECS, 'c')).not.toThrow();
    else {
      expect(() => parseFlags(argv, SPECS, 'c')).toThrow(UsageError);
      expect(() => parseFlags(argv, SPECS, 'c')).toThrow(error);
    }
  });

  it('stops at the first argument or unknown flag for global flags', () => {
    const { flags, args } = parseFlags(
      ['-keyfile', 'k', 'at', '/x', 'ls', '-fast'],
      [{ name: 'keyfile', kind: 'string', description: '' }],
      undefined,
      true,
    );
    expect(flags.string('keyfile')).toBe('k');
    expect(args).toEqual(['at', '/x', 'ls', '-fast']);
    expect(parseFlags(['-fast', 'ls'], [], undefined, true).args).toEqual(['-fast', 'ls']);
  });
});
