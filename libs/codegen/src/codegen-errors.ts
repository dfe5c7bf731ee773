import {
  CircuitOpenError,
  errorBodyDetail,
  ExternalServiceError,
  failedAnswerError,
} from '@app/platform';

const SERVICE = 'codegen';

/**
 * A create whose answer was lost (timeout, connection cut, a 2xx without a readable run): the run
 * may exist at Codegen. Transient; the caller finds the run by its metadata before asking again.
 */
export class AgentRunCreateUnconfirmedError extends ExternalServiceError {
  constructor(
    readonly reason: string,
    status?: number,
  ) {
    super(
      SERVICE,
      `agent run creation got no usable answer (${reason}); the run may exist`,
      true,
      status,
    );
    this.name = 'AgentRunCreateUnconfirmedError';
  }
}

/**
 * A create not sent because its caller's time to send it (`sendBy`) had passed when the request
 * was about to leave: no run was started. Its caller stalled (a paused process, a long GC) past
 * its claim on the work, and another attempt may be asking Codegen by now.
 */
export class AgentRunCreateNotSentError extends ExternalServiceError {
  constructor(sendBy: number) {
    super(
      SERVICE,
      `agent run creation not sent: its attempt's time to send it ended at ${new Date(sendBy).toISOString()}`,
      true,
    );
    this.name = 'AgentRunCreateNotSentError';
  }
}

/** 402: the plan's agent-run allowance is used up; every create fails so until the plan changes. */
export class CodegenPlanLimitError extends ExternalServiceError {
  constructor(detail: string | undefined) {
    super(
      SERVICE,
      `Codegen refused the agent run: the billing plan's agent-run limit is used up${detail ? ` (${detail})` : ''}`,
      false,
      402,
    );
    this.name = 'CodegenPlanLimitError';
  }
}

/** Maps a non-2xx answer; `redact` removes the token from anything quoted from the body. */
export function errorFromResponse(
  response: Response,
  text: string,
  label: string,
  redact: (text: string) => string,
): ExternalServiceError {
  const { status } = response;
  const found = errorBodyDetail(text);
  const detail = found === undefined ? undefined : redact(found);
  if (status === 402) return new CodegenPlanLimitError(detail);
  return failedAnswerError({
    service: SERVICE,
    serviceName: 'Codegen',
    label,
    status,
    headers: response.headers,
    detail,
    transient: status === 429 || status >= 500,
  });
}

const CONNECT_FAILURE =
  /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_CONNECT_TIMEOUT/;

/**
 * True when a failed create may still have made a run: the request may have reached Codegen
 * (a timeout, a connection cut after it was sent) and no HTTP answer says otherwise.
 */
export function createMayHaveHappened(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return false;
  if (!(error instanceof ExternalServiceError)) return true;
  if (error.service !== SERVICE || error.status !== undefined) return false;
  return !CONNECT_FAILURE.test(error.message);
}
