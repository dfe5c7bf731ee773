import { TaskType } from '@app/domain';
import { HandlerRegistry } from './handler-registry';
import { TaskHandler } from './task-handler';

const handler = (taskType: TaskType): TaskHandler => ({
  taskType,
  handle: async () => ({ outputData: {} }),
});

describe('HandlerRegistry', () => {
  it('refuses to start when a task type has no handler', () => {
    expect(() => new HandlerRegistry([handler(TaskType.PushAnalysis)])).toThrow(
      /no handler for task type/,
    );
  });

  it('refuses two handlers for one type', () => {
    const all = Object.values(TaskType).map(handler);
    expect(() => new HandlerRegistry([...all, handler(TaskType.PushAnalysis)])).toThrow(
      /two handlers/,
    );
  });

  it('finds the handler of every type', () => {
    const registry = new HandlerRegistry(Object.values(TaskType).map(handler));
    for (const type of Object.values(TaskType)) expect(registry.get(type)?.taskType).toBe(type);
  });
});
