import { otlpTracesUrl, startTracingFromEnv } from './tracing';

describe('tracing settings', () => {
  it('sends to the OTLP/HTTP traces path of a bare collector address', () => {
    expect(otlpTracesUrl('http://jaeger:4318')).toBe('http://jaeger:4318/v1/traces');
    expect(otlpTracesUrl('http://jaeger:4318/')).toBe('http://jaeger:4318/v1/traces');
    expect(otlpTracesUrl('https://otel.example.com/custom/traces')).toBe(
      'https://otel.example.com/custom/traces',
    );
  });

  it('stays off when turned off, without an endpoint, or with a bad value', async () => {
    const off = [
      { ENABLE_TRACING: 'false', JAEGER_ENDPOINT: 'http://jaeger:4318' },
      {},
      { JAEGER_ENDPOINT: 'not a url' },
      { ENABLE_TRACING: 'maybe', JAEGER_ENDPOINT: 'http://jaeger:4318' },
    ];
    for (const env of off) {
      const handle = startTracingFromEnv('unit', env);
      expect(handle.enabled).toBe(false);
      await handle.shutdown();
    }
    expect(startTracingFromEnv('unit', { ENABLE_TRACING: 'false' }).description).toBe(
      'tracing off: ENABLE_TRACING=false',
    );
    expect(startTracingFromEnv('unit', {}).description).toBe(
      'tracing off: JAEGER_ENDPOINT is not set',
    );
  });
});
