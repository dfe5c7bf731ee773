import { createHmac, randomUUID } from 'node:crypto';

export const WEBHOOK_PATH = '/api/v1/webhooks/github';

/** A `ping` as GitHub sends one when a webhook is created, signed with `secret`. */
export function signedPingCurl(baseUrl: string, secret: string, deliveryId = randomUUID()): string {
  const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  return [
    `curl -s -X POST '${baseUrl}${WEBHOOK_PATH}' \\`,
    `  -H 'Content-Type: application/json' -H 'X-GitHub-Event: ping' \\`,
    `  -H 'X-GitHub-Delivery: ${deliveryId}' \\`,
    `  -H 'X-Hub-Signature-256: ${signature}' \\`,
    `  --data '${body}'`,
  ].join('\n');
}

export interface ReadyBlockInput {
  baseUrl: string;
  workerUrl: string;
  /** Where the webhook secret is, for the reader: a file name or "this demo run". */
  secretSource: string;
  /** The first configured webhook secret (signs the ping). */
  secret: string;
  consoleAvailable: boolean;
  seconds: number;
  demo: boolean;
}

/** What `npm run up` prints once both apps answer their readiness probes. */
export function readyBlock(input: ReadyBlockInput): string {
  const { baseUrl, workerUrl } = input;
  const lines = [
    '',
    `== ready in ${input.seconds.toFixed(1)} s: the orchestrator and the worker answer their readiness probes`,
    `   webhook URL   ${baseUrl}${WEBHOOK_PATH}  (POST; secret: GITHUB_WEBHOOK_SECRET in ${input.secretSource})`,
    `   API docs      ${baseUrl}/docs`,
    ...(input.consoleAvailable ? [`   console       ${baseUrl}/console`] : []),
    `   health        ${baseUrl}/health  and the worker's ${workerUrl}/health`,
    `   API token     npm run -s token -- --role operator${input.demo ? '   (in the demo: see below)' : ''}`,
    '',
    '   A signed ping, ready to paste into another terminal (a second paste answers 409: the',
    '   delivery id is the replay guard):',
    '',
    indent(signedPingCurl(baseUrl, input.secret), 4),
    '',
  ];
  if (!input.demo) {
    lines.push(
      "   GitHub cannot reach 127.0.0.1. To receive a real repository's deliveries on this machine,",
      '   forward them through a tunnel, e.g. with smee-client (a channel URL from smee.io):',
      '',
      `     npx smee-client --url 'https://smee.io/YOUR-CHANNEL' --target '${baseUrl}${WEBHOOK_PATH}'`,
      '',
      '   and use the channel URL as the webhook\'s Payload URL on GitHub (README: "Connect a real',
      '   repository").',
      '',
    );
  }
  lines.push('   Ctrl-C stops both apps.', '');
  return lines.join('\n');
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}
