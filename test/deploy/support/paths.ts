import { join } from 'node:path';

/** The repository root and the deployment files the deploy specs check. */
export const ROOT = join(__dirname, '../../..');
export const K8S_DIR = join(ROOT, 'k8s');
export const SECRET_EXAMPLE = join(K8S_DIR, 'secret.example.yaml');
export const COMPOSE_FILE = join(ROOT, 'docker/docker-compose.yml');
export const ENV_EXAMPLE = join(ROOT, 'docker/.env.example');
export const DOCKERFILE = join(ROOT, 'docker/Dockerfile');
export const ENTRYPOINT = join(ROOT, 'docker/entrypoint.sh');
export const DOCKERIGNORE = join(ROOT, '.dockerignore');
export const DIST = join(ROOT, 'dist');
