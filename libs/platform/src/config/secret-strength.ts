import { EnvReader } from './env-reader';

/** Shortest secret accepted in production, in bytes (as HMAC-SHA256 / HS256 keys). */
export const MIN_SECRET_BYTES = 32;

/**
 * Words that mark a value as a placeholder or a development secret. Case-insensitive substrings.
 * None is a hex word, so the random hex secrets `npm run up` writes (`openssl rand -hex 32` does
 * the same) never trip it.
 */
export const DEVELOPMENT_MARKERS = [
  'dev',
  'test',
  'changeme',
  'change-me',
  'change_me',
  'replace',
  'secret',
  'password',
  'example',
  'sample',
  'dummy',
  'placeholder',
  'insecure',
  'docs-only',
] as const;

/** Fewer distinct characters than this is not a random value ('k' * 40, 'abababab...'). */
const MIN_DISTINCT_CHARACTERS = 8;

/**
 * Why `value` is not fit to be a production secret, or null. Never includes the value.
 * The rule: at least 32 bytes, at least 8 distinct characters, and none of the
 * {@link DEVELOPMENT_MARKERS} anywhere in it.
 */
export function weakSecretReason(value: string): string | null {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < MIN_SECRET_BYTES) return `shorter than ${MIN_SECRET_BYTES} bytes (${bytes})`;
  const lower = value.toLowerCase();
  const marker = DEVELOPMENT_MARKERS.find((m) => lower.includes(m));
  if (marker) return `contains "${marker}", which marks a development or placeholder value`;
  if (new Set(value).size < MIN_DISTINCT_CHARACTERS) {
    return `has fewer than ${MIN_DISTINCT_CHARACTERS} distinct characters`;
  }
  return null;
}

/** In production, adds a problem naming `label` when `value` is weak (see {@link weakSecretReason}). */
export function requireStrongSecret(env: EnvReader, label: string, value: string): void {
  if (value === '') return; // reported as missing elsewhere
  const reason = weakSecretReason(value);
  if (reason) {
    env.problem(
      `${label} is too weak for production: ${reason}; generate one with \`openssl rand -hex 32\``,
    );
  }
}

/**
 * The markers the example settings put in every value an operator must fill in, with the file
 * each comes from: `docker/.env.example` (`change-me-…`) and `k8s/secret.example.yaml`
 * (`REPLACE_ME`). Case-insensitive.
 */
export const PLACEHOLDER_MARKERS: ReadonlyArray<{ marker: string; file: string }> = [
  { marker: 'change-me', file: 'docker/.env.example' },
  { marker: 'REPLACE_ME', file: 'k8s/secret.example.yaml' },
];

/**
 * Settings that are, or carry, a secret: `*PASSWORD`, `*SECRET`, `*TOKEN`, `*_KEY`, and the
 * connection strings (`*_URL`, which carry passwords). The compose stack hands every line of
 * docker/.env to the apps, so its own passwords (POSTGRES_PASSWORD, GRAFANA_ADMIN_PASSWORD) are
 * seen here too.
 */
const SECRET_SETTING = /(?:PASSWORD|SECRET|TOKEN|_KEY|_URL)$/;

/**
 * In every mode (not only production), adds a problem for each secret setting in `source` that
 * still holds an example file's placeholder, naming the setting and never echoing its value: the
 * example's values are public, so a stack started with them is open to anyone who read the file.
 */
export function refusePlaceholderSecrets(
  env: EnvReader,
  source: Record<string, string | undefined>,
): void {
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || !SECRET_SETTING.test(name)) continue;
    const lower = value.toLowerCase();
    const found = PLACEHOLDER_MARKERS.find(({ marker }) => lower.includes(marker.toLowerCase()));
    if (found) {
      env.problem(
        `${name} still holds the placeholder "${found.marker}" from ${found.file}: fill it in ` +
          '(a secret: e.g. `openssl rand -hex 32`)',
      );
    }
  }
}
