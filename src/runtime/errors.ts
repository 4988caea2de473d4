/** Errors of the runtime, with stable codes (README, "Error codes"). */
export type RuntimeErrorCode =
  /** A request a worker cannot accept (malformed, unknown model or slice). */
  | 'ERR_RUNTIME_REQUEST'
  /** The plan does not fit the devices at hand. */
  | 'ERR_RUNTIME_PLAN'
  /** The worker does not have this model package yet: the owner sends it (runtime.model.put). */
  | 'ERR_MODEL_MISSING'
  /** A resident run stopped because another device of it failed or was cancelled: not this worker's fault. */
  | 'ERR_RESIDENT_PEER';

export class RuntimeError extends Error {
  override name = 'RuntimeError';
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(`modnn-web: ${message}`);
  }
}
