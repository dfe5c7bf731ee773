import { badge, type Tone } from './dom.js';

/** One word for where an event's tasks stand, for list rows and the story's header. */
export function tasksBadge(byStatus: Record<string, number>): HTMLElement {
  const count = (s: string): number => byStatus[s] ?? 0;
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
  let word: string;
  let tone: Tone;
  if (total === 0) [word, tone] = ['no tasks', 'quiet'];
  else if (count('failed') > 0) [word, tone] = [`${count('failed')} failed`, 'bad'];
  else if (count('pending') + count('queued') + count('running') > 0)
    [word, tone] = ['in progress', 'busy'];
  else if (count('completed') > 0) [word, tone] = ['completed', 'good'];
  else [word, tone] = ['cancelled', 'quiet'];
  const element = badge(word, tone);
  element.title = Object.entries(byStatus)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
  return element;
}

/** What routing decided, from the tasks it created. */
export function routingText(total: number, types: string[]): string {
  if (total === 0) return 'no tasks';
  return `${total} task${total === 1 ? '' : 's'}: ${types.join(', ')}`;
}
