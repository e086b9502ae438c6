package io.clipdb;

import io.grpc.Status;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Retries of idempotent calls (reads, upserts, deletes of points, payload
 * updates, creating payload indexes) that fail with one of {@link #codes()}
 * (by default {@code UNAVAILABLE} and {@code RESOURCE_EXHAUSTED}), with
 * exponential backoff and jitter. Creating and dropping collections and
 * snapshots, dropping payload indexes and {@code upsertStream} are never
 * retried. Immutable.
 *
 * <pre>{@code
 * RetryPolicy.builder().maxAttempts(3).initialBackoff(Duration.ofMillis(50)).build()
 * }</pre>
 */
public final class RetryPolicy {
  private static final RetryPolicy DEFAULT = builder().build();
  private static final RetryPolicy NONE = builder().maxAttempts(1).build();

  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final double multiplier;
  private final Set<Status.Code> codes;

  private RetryPolicy(Builder b) {
    this.maxAttempts = b.maxAttempts;
    this.initialBackoff = b.initialBackoff;
    this.maxBackoff = b.maxBackoff;
    this.multiplier = b.multiplier;
    this.codes = Collections.unmodifiableSet(EnumSet.copyOf(b.codes));
  }

  /**
   * Five attempts, backoff from 100 ms doubling up to 5 s, on
   * {@code UNAVAILABLE} and {@code RESOURCE_EXHAUSTED}.
   *
   * @return the default policy
   */
  public static RetryPolicy defaults() {
    return DEFAULT;
  }

  /**
   * One attempt: no retries.
   *
   * @return the policy
   */
  public static RetryPolicy none() {
    return NONE;
  }

  /**
   * A builder starting from the defaults.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Most attempts per call, the first included.
   *
   * @return the attempts
   */
  public int maxAttempts() {
    return maxAttempts;
  }

  /**
   * The status codes that are retried.
   *
   * @return an unmodifiable set
   */
  public Set<Status.Code> codes() {
    return codes;
  }

  /**
   * How long to wait before retrying a call whose attempt number
   * {@code attempt} (0 for the first) failed with {@code code}: the backoff
   * {@code initial * multiplier^attempt}, capped, times a random factor in
   * [0.5, 1); or null when the call is not to be retried.
   *
   * @param attempt the failed attempt, from 0
   * @param code its status code
   * @return the delay, or null to give up
   */
  public Duration delayBeforeRetry(int attempt, Status.Code code) {
    if (!codes.contains(code) || attempt + 1 >= maxAttempts) {
      return null;
    }
    double base = Math.min(maxBackoff.toNanos(),
        initialBackoff.toNanos() * Math.pow(multiplier, attempt));
    return Duration.ofNanos((long) (base * (0.5 + ThreadLocalRandom.current().nextDouble() / 2)));
  }

  @Override
  public String toString() {
    return "RetryPolicy{maxAttempts=" + maxAttempts + ", initialBackoff=" + initialBackoff
        + ", maxBackoff=" + maxBackoff + ", multiplier=" + multiplier + ", codes=" + codes + "}";
  }

  /** Builds a {@link RetryPolicy}. */
  public static final class Builder {
    private int maxAttempts = 5;
    private Duration initialBackoff = Duration.ofMillis(100);
    private Duration maxBackoff = Duration.ofSeconds(5);
    private double multiplier = 2.0;
    private Set<Status.Code> codes =
        EnumSet.of(Status.Code.UNAVAILABLE, Status.Code.RESOURCE_EXHAUSTED);

    private Builder() {}

    /**
     * Most attempts per call, the first included (1 = no retries; default 5).
     *
     * @param maxAttempts at least 1
     * @return this builder
     */
    public Builder maxAttempts(int maxAttempts) {
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    /**
     * The first backoff (default 100 ms).
     *
     * @param backoff the backoff
     * @return this builder
     */
    public Builder initialBackoff(Duration backoff) {
      this.initialBackoff = Objects.requireNonNull(backoff, "backoff");
      return this;
    }

    /**
     * The longest backoff (default 5 s).
     *
     * @param backoff the backoff
     * @return this builder
     */
    public Builder maxBackoff(Duration backoff) {
      this.maxBackoff = Objects.requireNonNull(backoff, "backoff");
      return this;
    }

    /**
     * The backoff's growth per attempt (default 2).
     *
     * @param multiplier at least 1
     * @return this builder
     */
    public Builder multiplier(double multiplier) {
      if (!(multiplier >= 1)) {
        throw new IllegalArgumentException("multiplier must be at least 1, got " + multiplier);
      }
      this.multiplier = multiplier;
      return this;
    }

    /**
     * The status codes to retry (default UNAVAILABLE and RESOURCE_EXHAUSTED).
     *
     * @param codes the codes; at least one
     * @return this builder
     */
    public Builder codes(Status.Code... codes) {
      if (codes.length == 0) {
        throw new IllegalArgumentException("give at least one code (or use maxAttempts(1))");
      }
      this.codes = EnumSet.of(codes[0], codes);
      return this;
    }

    /**
     * The policy.
     *
     * @return the policy
     */
    public RetryPolicy build() {
      return new RetryPolicy(this);
    }
  }
}
