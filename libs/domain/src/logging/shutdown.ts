/**
 * Closes the app on SIGTERM/SIGINT and exits 0 once it has (in-flight requests and jobs finish
 * first); a second signal, or a close that takes longer than `graceMs`, exits 1 at once.
 */
export function closeOnSignals(close: () => Promise<void>, graceMs = 30_000): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) process.exit(1);
    closing = true;
    process.stdout.write(
      JSON.stringify({
        level: 'info',
        message: `received ${signal}, shutting down`,
        timestamp: new Date().toISOString(),
      }) + '\n',
    );
    const timer = setTimeout(() => process.exit(1), graceMs);
    timer.unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
