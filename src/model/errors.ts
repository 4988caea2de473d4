/**
 * Errors raised by the model layer. Tests and callers match on `code`, never on the message.
 *
 * - `ERR_MODEL_TOPOLOGY`: the model.json topology is malformed or uses an unsupported layout
 *   (channels_first, shared layers, a missing inbound layer).
 * - `ERR_MODEL_SHAPE`: an input shape does not fit the layer (e.g. Add of different shapes).
 * - `ERR_MODEL_WEIGHTS`: a weight is missing or has the wrong number of values.
 * - `ERR_MODEL_ARGUMENT`: a function was called with values outside its documented domain.
 * - `ERR_MODEL_EXECUTION`: the reference executor met a slice it cannot run.
 */
export type ModelErrorCode =
  | 'ERR_MODEL_TOPOLOGY'
  | 'ERR_MODEL_SHAPE'
  | 'ERR_MODEL_WEIGHTS'
  | 'ERR_MODEL_ARGUMENT'
  | 'ERR_MODEL_EXECUTION'
  | 'ERR_MODEL_PACKAGE';

/** An error of the model layer with a stable `code`. */
export class ModelError extends Error {
  readonly code: ModelErrorCode;

  constructor(code: ModelErrorCode, message: string) {
    super(message);
    this.name = 'ModelError';
    this.code = code;
  }
}

/**
 * Throws a `ModelError` when `condition` is false. The message is built lazily so that hot paths
 * pay nothing for it; it should name the function and show the values it got.
 */
export function modelAssert(
  condition: boolean,
  code: ModelErrorCode,
  message: () => string,
): asserts condition {
  if (!condition) throw new ModelError(code, message());
}
