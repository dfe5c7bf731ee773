import Queue from 'bull';
import { bullPrefix, hashTagOf, QueueName } from './queue-names';

/** Redis Cluster's slot of a key: CRC16 (XMODEM) of its hash tag, modulo 16384. */
function clusterSlot(key: string): number {
  let crc = 0;
  for (const byte of Buffer.from(hashTagOf(key))) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** Keys Bull's Lua scripts touch together when they add, move, retry or finish a job. */
const BULL_KEYS = [
  'wait',
  'active',
  'delayed',
  'paused',
  'priority',
  'completed',
  'failed',
  'id',
  'stalled',
  'limiter',
  'meta-paused',
  'repeat',
  'drained',
];

describe('Bull key prefixes for Redis Cluster', () => {
  it('computes slots as Redis does', () => {
    // Values from the Redis Cluster specification and CLUSTER KEYSLOT.
    expect(clusterSlot('123456789')).toBe(12739);
    expect(clusterSlot('foo')).toBe(12182);
    expect(clusterSlot('{user1000}.following')).toBe(clusterSlot('{user1000}.followers'));
  });

  it('puts every key of every queue, and each job, in one slot', async () => {
    for (const configured of ['orchestrator', 'acme-prod', 'test_ab12']) {
      const prefix = bullPrefix(configured);
      expect(prefix).toBe(`{${configured}}`);
      for (const name of Object.values(QueueName)) {
        // Bull's own key builder, without connecting anywhere.
        const queue = new Queue(name, {
          prefix,
          redis: { lazyConnect: true, port: 1, enableOfflineQueue: false },
        });
        try {
          const keys = [
            ...BULL_KEYS.map((k) => queue.toKey(k)),
            queue.toKey('a-task-id'),
            queue.toKey('a-task-id:lock'),
          ];
          expect(keys[0]).toBe(`{${configured}}:${name}:wait`);
          expect(new Set(keys.map(clusterSlot)).size).toBe(1);
          expect(new Set(keys.map(hashTagOf))).toEqual(new Set([configured]));
        } finally {
          await queue.close();
        }
      }
    }
  });

  it('keeps a prefix that already carries its own tag, and tags one whose braces are no tag', () => {
    expect(bullPrefix('{shared}:team-a')).toBe('{shared}:team-a');
    expect(bullPrefix('a{}b')).toBe('{a{}b}');
    expect(hashTagOf(`${bullPrefix('a{}b')}:analysis:wait`)).toBe('a{');
    expect(bullPrefix('no-close{')).toBe('{no-close{}');
  });
});
