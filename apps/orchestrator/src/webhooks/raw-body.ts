import type { IncomingMessage } from 'node:http';
import { DomainError, ErrorCode } from '@app/platform';
import type { InflightHold } from './inflight-budget';

/**
 * Reads a request body up to `limit` bytes. A declared Content-Length over the limit is refused
 * before reading anything; a body that grows past it while streaming is refused at that byte, so
 * a 30 MB upload never sits in memory. With a `hold`, every chunk is counted against the in-flight
 * caps before it is kept; past one, the read is refused with the hold's error (429 or 503) and the
 * rest is discarded as it arrives. A connection that closes mid-body rejects too, so a body cut
 * off by the server's request timeout never leaves its bytes counted.
 */
export function readRawBody(
  req: IncomingMessage,
  limit: number,
  hold?: InflightHold,
): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit));
  }
  // Read already (by a body parser): waiting for 'end' would wait forever.
  if (req.readableEnded || (req as { _body?: unknown })._body === true) {
    return Promise.reject(
      new DomainError(ErrorCode.InvalidInput, 'the request body was already read'),
    );
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      req.off('close', onClose);
    };
    const refuse = (error: DomainError): void => {
      settled = true;
      cleanup();
      chunks.length = 0;
      // Stop buffering; the rest of the upload is discarded as it arrives.
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        refuse(tooLarge(limit));
        return;
      }
      const overCap = hold?.add(chunk.length);
      if (overCap) {
        refuse(overCap);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(
        new DomainError(
          ErrorCode.InvalidInput,
          `could not read the request body: ${error.message}`,
        ),
      );
    };
    const onAborted = (): void => onError(new Error('client aborted the request'));
    const onClose = (): void => onError(new Error('the connection closed before the body ended'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
    req.on('close', onClose);
  });
}

function tooLarge(limit: number): DomainError {
  return new DomainError(ErrorCode.PayloadTooLarge, `payload exceeds the limit of ${limit} bytes`);
}
