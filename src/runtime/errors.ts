/** Errors of the runtime, with stable codes (README, "Error codes"). */
export type RuntimeErrorCode =
  /** A request a worker cannot accept (malformed, unknown model or slice). */
  | 'ERR_RUNTIME_REQUEST'
  /** The plan does not fit the devices at hand. */
  | 'ERR_RUNTIME_PLAN';

export class RuntimeError extends Error {
  override name = 'RuntimeError';
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(`modnn-web: ${message}`);
  }
}
