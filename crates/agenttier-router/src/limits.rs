//! Bounds on how much work one caller can have the router do at once: concurrent execs per
//! sandbox and per user. Each exec holds up to 16 MiB of captured output until its reply is
//! sent, so these bounds are what keeps the router's memory bounded under a flood of execs.
//! Past a bound the answer is `429` with `Retry-After`, at once (nothing is queued).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::errors::ApiError;

/// Seconds a throttled caller is told to wait.
const RETRY_AFTER_SECS: &str = "1";

/// Counts of running execs by sandbox and by user.
#[derive(Debug)]
pub(crate) struct ExecLimits {
    per_sandbox: usize,
    per_user: usize,
    running: Mutex<Running>,
}

#[derive(Debug, Default)]
struct Running {
    by_sandbox: HashMap<String, usize>,
    by_user: HashMap<String, usize>,
}

/// A refused exec: `429` with `Retry-After` and what was exceeded.
#[derive(Debug)]
pub(crate) struct Throttled(String);

impl IntoResponse for Throttled {
    fn into_response(self) -> Response {
        let mut resp = ApiError::Json(StatusCode::TOO_MANY_REQUESTS, self.0).into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        resp
    }
}

/// One running exec; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct ExecPermit {
    limits: Arc<ExecLimits>,
    sandbox: String,
    user: String,
}

impl ExecLimits {
    /// Limits of `per_sandbox` and `per_user` concurrent execs (0 = unlimited).
    pub(crate) fn new(per_sandbox: usize, per_user: usize) -> ExecLimits {
        ExecLimits {
            per_sandbox,
            per_user,
            running: Mutex::default(),
        }
    }

    /// Takes a slot for an exec by `user` in `sandbox`, or says why not.
    pub(crate) fn acquire(self: &Arc<Self>, sandbox: &str, user: &str) -> Result<ExecPermit, Throttled> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let in_sandbox = running.by_sandbox.get(sandbox).copied().unwrap_or(0);
        let of_user = running.by_user.get(user).copied().unwrap_or(0);
        let refusal = if self.per_sandbox > 0 && in_sandbox >= self.per_sandbox {
            Some(format!(
                "sandbox {sandbox} already runs {in_sandbox} execs (max {}); retry when one has finished",
                self.per_sandbox
            ))
        } else if self.per_user > 0 && of_user >= self.per_user {
            Some(format!(
                "user {user} already runs {of_user} execs (max {}); retry when one has finished",
                self.per_user
            ))
        } else {
            None
        };
        if let Some(message) = refusal {
            return Err(Throttled(message));
        }
        *running.by_sandbox.entry(sandbox.to_owned()).or_default() += 1;
        *running.by_user.entry(user.to_owned()).or_default() += 1;
        Ok(ExecPermit {
            limits: self.clone(),
            sandbox: sandbox.to_owned(),
            user: user.to_owned(),
        })
    }
}

impl Drop for ExecPermit {
    fn drop(&mut self) {
        let mut guard = self.limits.running.lock().unwrap_or_else(|p| p.into_inner());
        let running = &mut *guard;
        for (map, key) in [
            (&mut running.by_sandbox, &self.sandbox),
            (&mut running.by_user, &self.user),
        ] {
            if let Some(n) = map.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_per_sandbox_and_per_user_and_frees_on_drop() {
        let limits = Arc::new(ExecLimits::new(2, 3));
        let a1 = limits.acquire("a", "u").unwrap();
        let _a2 = limits.acquire("a", "u").unwrap();
        let refused = limits.acquire("a", "v").unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        let _b1 = limits.acquire("b", "u").unwrap();
        assert!(limits.acquire("c", "u").is_err(), "user u is at 3");
        let _c1 = limits.acquire("c", "v").unwrap();
        drop(a1);
        let _a3 = limits.acquire("a", "v").unwrap();
        let unlimited = Arc::new(ExecLimits::new(0, 0));
        let held: Vec<_> = (0..100).map(|_| unlimited.acquire("a", "u").unwrap()).collect();
        drop(held);
        assert!(unlimited.running.lock().unwrap().by_sandbox.is_empty());
    }
}
