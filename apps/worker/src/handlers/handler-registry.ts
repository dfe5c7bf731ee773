import { TaskType } from '@app/domain';
import { TaskHandler } from './task-handler';

/** Maps task types to handlers; refuses to exist if any task type has none. */
export class HandlerRegistry {
  private readonly byType = new Map<TaskType, TaskHandler>();

  constructor(handlers: TaskHandler[]) {
    for (const handler of handlers) {
      if (this.byType.has(handler.taskType))
        throw new Error(`two handlers for ${handler.taskType}`);
      this.byType.set(handler.taskType, handler);
    }
    const missing = Object.values(TaskType).filter((t) => !this.byType.has(t));
    if (missing.length > 0) throw new Error(`no handler for task type(s): ${missing.join(', ')}`);
  }

  get(taskType: TaskType): TaskHandler | undefined {
    return this.byType.get(taskType);
  }
}
