//! The retry decision: pure code, applied by each transport with its own sleep.
//!
//! Unlike the Python SDK, retries are on by default, for idempotent requests only:
//! connection failures and 408/429/5xx (except 501) on GET, HEAD, OPTIONS, PUT and DELETE are
//! tried again with exponential backoff and jitter; POST and PATCH only when
//! [`RetryPolicy::retry_post`] is set; streaming calls never. A `Retry-After` header replaces the
//! computed delay; one longer than [`RetryPolicy::max_retry_after`] ends the retries at once, so
//! the caller sees the server's answer instead of a silently long wait. Which statuses are
//! retried ([`RetryPolicy::retry_statuses`]) and whether `Retry-After` is honoured
//! ([`RetryPolicy::honor_retry_after`]) are settable.

use std::time::Duration;

use http::{HeaderMap, Method};

/// How a client retries failed requests.
///
/// ```
/// use std::time::Duration;
/// use agenttier_core::RetryPolicy;
/// let policy = RetryPolicy::default().max_retries(5).initial_backoff(Duration::from_millis(100));
/// let never = RetryPolicy::disabled();
/// assert_eq!(never.max_retries_value(), 0);
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    retry_post: bool,
    /// `None`: [`is_retryable_status`].
    statuses: Option<Vec<u16>>,
    honor_retry_after: bool,
}

impl Default for RetryPolicy {
    /// 3 retries, backoff 250 ms doubling up to 8 s, `Retry-After` honoured up to 60 s, no POST retries.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            retry_post: false,
            statuses: None,
            honor_retry_after: true,
        }
    }
}

/// What happened to one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The server answered with this status (and maybe a `Retry-After`).
    Status {
        /// HTTP status code.
        status: u16,
        /// Parsed `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The connection failed (refused, reset, closed early).
    ConnectionFailed,
    /// A timeout fired. Never retried: the server may still be working on the request.
    TimedOut,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Decision {
    /// Sleep this long, then try again.
    RetryAfter(Duration),
    /// Stop and report the outcome.
    GiveUp,
}

/// Whether a status is worth retrying: 408, 429 and 5xx other than 501.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || ((500..=599).contains(&status) && status != 501)
}

/// Reads a `Retry-After` header given in whole seconds (the form the Router sends).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn disabled() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Maximum number of retries after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Delay before the first retry; it doubles each time.
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Upper bound of the computed backoff.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Longest `Retry-After` honoured; a longer one ends the retries.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// Also retry POST and PATCH (which may create or run something twice).
    pub fn retry_post(mut self, yes: bool) -> Self {
        self.retry_post = yes;
        self
    }

    /// Retries exactly these statuses instead of the default set (408, 429 and 5xx but 501).
    /// An empty set retries connection failures only.
    ///
    /// ```
    /// use agenttier_core::RetryPolicy;
    /// let only_busy = RetryPolicy::default().retry_statuses([429, 503]);
    /// assert!(only_busy.is_retried_status(503) && !only_busy.is_retried_status(502));
    /// ```
    pub fn retry_statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.statuses = Some(statuses.into_iter().collect());
        self
    }

    /// Whether a `Retry-After` header sets the delay before the next attempt (default `true`).
    /// When `false` the computed backoff applies and the header is ignored, as is
    /// [`max_retry_after`](Self::max_retry_after).
    pub fn honor_retry_after(mut self, yes: bool) -> Self {
        self.honor_retry_after = yes;
        self
    }

    /// Whether this policy retries a status.
    pub fn is_retried_status(&self, status: u16) -> bool {
        match &self.statuses {
            Some(list) => list.contains(&status),
            None => is_retryable_status(status),
        }
    }

    /// The configured number of retries.
    pub fn max_retries_value(&self) -> u32 {
        self.max_retries
    }

    /// Decides whether attempt number `retries_done + 1` should follow, with random jitter.
    pub fn decide(&self, method: &Method, streaming: bool, retries_done: u32, outcome: Outcome) -> Decision {
        self.decide_with_jitter(method, streaming, retries_done, outcome, fastrand::f64())
    }

    /// [`decide`](Self::decide) with the jitter given (a value in `[0, 1)`), for reproducible tests.
    pub fn decide_with_jitter(
        &self,
        method: &Method,
        streaming: bool,
        retries_done: u32,
        outcome: Outcome,
        jitter: f64,
    ) -> Decision {
        if streaming || retries_done >= self.max_retries || !self.method_allowed(method) {
            return Decision::GiveUp;
        }
        let retry_after = match outcome {
            Outcome::Status { status, retry_after } if self.is_retried_status(status) => {
                retry_after.filter(|_| self.honor_retry_after)
            }
            Outcome::ConnectionFailed => None,
            _ => return Decision::GiveUp,
        };
        match retry_after {
            Some(wait) if wait > self.max_retry_after => Decision::GiveUp,
            Some(wait) => Decision::RetryAfter(wait),
            None => {
                let exp = self.initial_backoff.saturating_mul(1u32 << retries_done.min(20));
                let base = exp.min(self.max_backoff);
                // Up to +25 % so that clients that failed together do not retry together.
                Decision::RetryAfter(base.mul_f64(1.0 + 0.25 * jitter.clamp(0.0, 1.0)))
            }
        }
    }

    fn method_allowed(&self, method: &Method) -> bool {
        let idempotent = [Method::GET, Method::HEAD, Method::OPTIONS, Method::PUT, Method::DELETE].contains(method);
        idempotent || self.retry_post
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> Outcome {
        Outcome::Status {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 413, 424, 501] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn idempotent_methods_retry_with_growing_backoff() {
        let p = RetryPolicy::default();
        let delays: Vec<_> = (0..3)
            .map(|n| p.decide_with_jitter(&Method::GET, false, n, status(503), 0.0))
            .collect();
        assert_eq!(
            delays,
            [250, 500, 1000]
                .map(|ms| Decision::RetryAfter(Duration::from_millis(ms)))
                .to_vec()
        );
        assert_eq!(
            p.decide_with_jitter(&Method::GET, false, 3, status(503), 0.0),
            Decision::GiveUp
        );
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let p = RetryPolicy::default().max_retries(30);
        assert_eq!(
            p.decide_with_jitter(&Method::DELETE, false, 25, Outcome::ConnectionFailed, 0.0),
            Decision::RetryAfter(Duration::from_secs(8))
        );
        assert_eq!(
            p.decide_with_jitter(&Method::DELETE, false, 25, Outcome::ConnectionFailed, 1.0),
            Decision::RetryAfter(Duration::from_secs(10))
        );
    }

    #[test]
    fn post_only_when_asked() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide_with_jitter(&Method::POST, false, 0, status(503), 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide_with_jitter(&Method::PATCH, false, 0, Outcome::ConnectionFailed, 0.0),
            Decision::GiveUp
        );
        let p = p.retry_post(true);
        assert!(matches!(
            p.decide_with_jitter(&Method::POST, false, 0, status(503), 0.0),
            Decision::RetryAfter(_)
        ));
    }

    #[test]
    fn never_streams_timeouts_or_client_errors() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide_with_jitter(&Method::GET, true, 0, status(503), 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide_with_jitter(&Method::GET, false, 0, Outcome::TimedOut, 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide_with_jitter(&Method::GET, false, 0, status(404), 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            p.decide_with_jitter(&Method::GET, false, 0, status(501), 0.0),
            Decision::GiveUp
        );
        assert_eq!(
            RetryPolicy::disabled().decide_with_jitter(&Method::GET, false, 0, status(503), 0.0),
            Decision::GiveUp
        );
    }

    #[test]
    fn retry_after_replaces_backoff_and_is_capped() {
        let p = RetryPolicy::default();
        let with = |secs| Outcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            p.decide_with_jitter(&Method::GET, false, 0, with(5), 0.9),
            Decision::RetryAfter(Duration::from_secs(5))
        );
        assert_eq!(
            p.decide_with_jitter(&Method::GET, false, 0, with(3600), 0.0),
            Decision::GiveUp
        );
    }

    #[test]
    fn statuses_and_retry_after_are_settable() {
        let p = RetryPolicy::default().retry_statuses([409]).honor_retry_after(false);
        assert!(matches!(
            p.decide_with_jitter(&Method::GET, false, 0, status(409), 0.0),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            p.decide_with_jitter(&Method::GET, false, 0, status(503), 0.0),
            Decision::GiveUp
        );
        let long = Outcome::Status {
            status: 409,
            retry_after: Some(Duration::from_secs(3600)),
        };
        assert_eq!(
            p.decide_with_jitter(&Method::GET, false, 0, long, 0.0),
            Decision::RetryAfter(Duration::from_millis(250)),
            "the header is ignored, backoff applies"
        );
        let none = RetryPolicy::default().retry_statuses([]);
        assert_eq!(
            none.decide_with_jitter(&Method::GET, false, 0, status(503), 0.0),
            Decision::GiveUp
        );
        assert!(matches!(
            none.decide_with_jitter(&Method::GET, false, 0, Outcome::ConnectionFailed, 0.0),
            Decision::RetryAfter(_)
        ));
    }

    #[test]
    fn parses_retry_after_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            http::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
