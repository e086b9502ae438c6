import { Code } from "./errors.js";

/**
 * Retries of idempotent calls (reads, upserts, deletes, payload updates,
 * embeddings) that fail with one of `codes`: exponential backoff with jitter.
 * Times in milliseconds.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retries). Default 5. */
  maxAttempts: number;
  /** Wait before the first retry. Default 100 ms. */
  initialBackoff: number;
  /** Longest wait between attempts. Default 5000 ms. */
  maxBackoff: number;
  /** Growth of the wait per attempt. Default 2. */
  multiplier: number;
  /** Status codes worth retrying. Default UNAVAILABLE and RESOURCE_EXHAUSTED. */
  codes: readonly Code[];
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  initialBackoff: 100,
  maxBackoff: 5000,
  multiplier: 2,
  codes: Object.freeze([Code.Unavailable, Code.ResourceExhausted]),
});

export const NO_RETRY: Readonly<RetryPolicy> = Object.freeze({ ...DEFAULT_RETRY, maxAttempts: 1 });

/** Milliseconds to wait before attempt `attempt + 1` (0-based), or undefined to give up. */
export function retryDelay(policy: RetryPolicy, attempt: number, code: Code): number | undefined {
  if (!policy.codes.includes(code) || attempt + 1 >= policy.maxAttempts) return undefined;
  const base = Math.min(policy.maxBackoff, policy.initialBackoff * policy.multiplier ** attempt);
  // full jitter on the upper half spreads out clients retrying together
  return base * (0.5 + Math.random() / 2);
}
