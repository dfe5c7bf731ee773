import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { fillErrorExamplePaths } from './api-errors.decorator';
import { SERVICE_VERSION } from './service-info';

/** Builds the OpenAPI document from the controllers' decorators. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('GitHub webhook orchestrator')
    .setDescription(
      'Verified GitHub webhook intake and the operator API over stored events and workflow tasks. ' +
        'Every /api/v1 route except the webhook needs a bearer token (JWT, HS256, signed with SECRET_KEY; ' +
        'mint one with `npm run token -- --role viewer|operator`). viewer reads; operator may also ' +
        'reprocess, retry and clean up. Errors always use the body {error, status_code, path, correlation_id}.',
    )
    .setVersion(SERVICE_VERSION)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-Hub-Signature-256',
        description: 'sha256=HMAC of the raw body',
      },
      'github-signature',
    )
    .addServer('/')
    .build();
  return fillErrorExamplePaths(
    SwaggerModule.createDocument(app, config, {
      operationIdFactory: (controller, method) =>
        `${controller.replace(/Controller$/, '')}_${method}`,
    }),
  );
}

/** Serves the interactive page at /docs and the document at /docs-json. */
export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    // Off: the page would keep the bearer token in localStorage, readable by any script there.
    swaggerOptions: { persistAuthorization: false },
  });
}
