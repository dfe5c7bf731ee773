import { cleanLine, commentText, dataBlock, neutraliseMentions } from './untrusted-text';

describe('untrusted text', () => {
  it('neutralises user and team mentions so nobody is notified', () => {
    expect(neutraliseMentions('ping @alice and @octo-org/admins, mail a@b.c')).toBe(
      'ping @\u200Balice and @\u200Bocto-org/admins, mail a@\u200Bb.c',
    );
  });

  it('comment text: one line, no markup, no mentions, capped', () => {
    const text = commentText(
      'Fixed it\n<img src=x onerror=alert(1)> ![x](https://evil/) `code` @security-team',
      200,
    );
    expect(text).not.toContain('\n');
    expect(text).not.toContain('<img');
    expect(text).not.toContain('@security');
    expect(text).toContain('\\!\\[x\\](https://evil/)');
    expect(text).not.toContain('`');
    expect(commentText('x'.repeat(500), 100)).toHaveLength(100);
  });

  it('removes a forbidden token even when removing it forms it again', () => {
    expect(cleanLine('aTOKTOKENEN b', 100, ['TOKEN'])).toBe('a b');
  });

  it('a data block stays within its budget and counts what it left out', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `line ${i} ${'x'.repeat(40)}`);
    const block = dataBlock('tok123456', 'things', lines, 600) ?? '';
    expect(block.length).toBeLessThanOrEqual(600);
    expect(block.split('\n')[0]).toBe('BEGIN UNTRUSTED DATA tok123456 (things)');
    expect(block.split('\n').at(-1)).toBe('END UNTRUSTED DATA tok123456');
    expect(block).toMatch(/… \d+ more omitted/);
    expect(dataBlock('tok123456', 'things', lines, 20)).toBeNull();
  });
});
