/**
 * Errors raised by the partitioner. Callers and tests match on `code`, never on the message.
 *
 * - `ERR_PARTITION_ARGUMENT`: a function got values outside its documented domain
 *   (negative sizes, no devices, a capability that is not finite and ≥ 0).
 * - `ERR_PARTITION_BLOCK`: nodes do not form a block that can be partitioned spatially
 *   (a node that is not spatially local, or an internal tensor consumed outside the block).
 * - `ERR_PARTITION_PLAN`: a plan is inconsistent with its graph or devices.
 */
export type PartitionErrorCode = 'ERR_PARTITION_ARGUMENT' | 'ERR_PARTITION_BLOCK' | 'ERR_PARTITION_PLAN';

/** An error of the partitioner with a stable `code`. */
export class PartitionError extends Error {
  readonly code: PartitionErrorCode;

  constructor(code: PartitionErrorCode, message: string) {
    super(message);
    this.name = 'PartitionError';
    this.code = code;
  }
}

/** Throws a `PartitionError` when `condition` is false; the message is built only then. */
export function partitionAssert(
  condition: boolean,
  code: PartitionErrorCode,
  message: () => string,
): asserts condition {
  if (!condition) throw new PartitionError(code, message());
}
