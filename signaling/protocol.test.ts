import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan, parseClientMessage } from './protocol.ts';

describe('signaling protocol: nesting bound', () => {
  it('counts arrays and objects, not brackets inside strings or after escaped quotes', () => {
    expect(nestsDeeperThan('{"a":[{"b":1}]}', 3)).toBe(false);
    expect(nestsDeeperThan('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(nestsDeeperThan('{"sdp":"[[[[[[{{{{{{"}', 1)).toBe(false);
    expect(nestsDeeperThan('{"s":"\\"[[[[","t":"\\\\"}', 1)).toBe(false);
    expect(nestsDeeperThan('{"s":"\\\\",[[[1]]]}', 3)).toBe(true); // an escaped backslash ends the string before the arrays
  });

  it('refuses a message nested deeper than MAX_JSON_DEPTH before JSON.parse sees it, and takes a real candidate', () => {
    const deep = `{"type":"signal","to":"AAAAAAAAAAAA","data":{"type":"offer","sdp":"","x":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}}`;
    expect(parseClientMessage(deep)).toEqual({ ok: false, reason: `nested deeper than ${MAX_JSON_DEPTH} levels` });
    const candidate = { type: 'signal', to: 'AAAAAAAAAAAA', data: { type: 'candidate', candidate: { candidate: 'candidate:1', sdpMLineIndex: 0, sdpMid: '0' } } };
    expect(parseClientMessage(JSON.stringify(candidate))).toEqual({ ok: true, value: candidate });
  });
});
