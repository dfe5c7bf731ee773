import { Injectable } from '@nestjs/common';
import { outcomeFactsFromInput, TaskType } from '@app/domain';
import { DomainError, ErrorCode } from '@app/platform';
import { AgentOutcomes } from '../agents/agent-outcomes.service';
import { HandlerResult, TaskContext, TaskHandler } from './task-handler';

/**
 * A check or synchronize delivery that concerned a pending agent-run outcome (intake looked):
 * applies it to each such outcome; a `still_failing` one may ask for a follow-up run (a child).
 */
@Injectable()
export class AgentOutcomeHandler implements TaskHandler {
  readonly taskType = TaskType.AgentOutcome;

  constructor(private readonly outcomes: AgentOutcomes) {}

  async handle({ task, event }: TaskContext): Promise<HandlerResult> {
    const facts = outcomeFactsFromInput(task.inputData);
    if (!facts) throw new DomainError(ErrorCode.InvalidInput, 'agent outcome task has no facts');
    const { judged, children } = await this.outcomes.apply(facts, event?.installationId ?? null);
    return { outputData: { event: facts.event.kind, judged }, children };
  }
}
