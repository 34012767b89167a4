//! Waiting for an object to reach a state: the state machine and its predicates.
//!
//! A wait is: GET the object (fast path: already there; a missing object fails a condition wait
//! and ends a deletion wait), then watch that one object from the GET's `resourceVersion`,
//! judging every event, until the goal is reached or the deadline passes. The watch reconnects
//! and relists as [`WatchState`](super::WatchState) decides, and every connection asks the
//! server to end by the deadline, so a quiet object cannot overrun it (the Python client checks
//! its deadline only when an event arrives).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::models::{Sandbox, SandboxPhase, SandboxSet};
use super::params::WatchParams;
use super::resource::Resource;
use super::status::{KubeErrorKind, KubeStatus, StatusReason};
use super::watch::WatchEvent;
use crate::{Error, Result};

type Predicate<K> = Arc<dyn Fn(&K) -> bool + Send + Sync>;

/// What a wait waits for.
pub enum Goal<K> {
    /// The object satisfies a predicate; `description` goes into the timeout error.
    Matches {
        /// E.g. `condition Ready=True`.
        description: String,
        /// The test.
        predicate: Predicate<K>,
    },
    /// The object is gone.
    Deleted,
}

impl<K> Clone for Goal<K> {
    fn clone(&self) -> Self {
        match self {
            Goal::Matches { description, predicate } => Goal::Matches {
                description: description.clone(),
                predicate: predicate.clone(),
            },
            Goal::Deleted => Goal::Deleted,
        }
    }
}

impl<K> fmt::Debug for Goal<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Goal::Matches { description, .. } => write!(f, "Goal::Matches({description})"),
            Goal::Deleted => f.write_str("Goal::Deleted"),
        }
    }
}

impl<K: Resource> Goal<K> {
    /// Any predicate.
    pub fn matches(description: impl Into<String>, predicate: impl Fn(&K) -> bool + Send + Sync + 'static) -> Self {
        Goal::Matches {
            description: description.into(),
            predicate: Arc::new(predicate),
        }
    }
}

/// Status conditions, for any kind that has them.
pub trait HasConditions {
    /// The status conditions (empty when there is no status).
    fn conditions(&self) -> &[super::models::Condition];
}

impl HasConditions for Sandbox {
    fn conditions(&self) -> &[super::models::Condition] {
        self.status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default()
    }
}

impl HasConditions for SandboxSet {
    fn conditions(&self) -> &[super::models::Condition] {
        self.status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default()
    }
}

/// Condition `type_` has status `status` (`"True"`, `"False"`, `"Unknown"`).
pub fn condition<K: Resource + HasConditions>(type_: &str, status: &str) -> Goal<K> {
    let (t, s) = (type_.to_owned(), status.to_owned());
    Goal::matches(format!("condition {type_}={status}"), move |k: &K| {
        k.conditions().iter().any(|c| c.is(&t, &s))
    })
}

/// The Sandbox is in `phase`.
pub fn phase(phase: SandboxPhase) -> Goal<Sandbox> {
    Goal::matches(format!("phase {phase}"), move |s: &Sandbox| s.phase() == Some(&phase))
}

/// The SandboxSet is available ([`SandboxSet::is_available`]).
pub fn sandbox_set_available() -> Goal<SandboxSet> {
    Goal::matches(
        "available (observedGeneration >= generation and availableReplicas >= spec.replicas)",
        SandboxSet::is_available,
    )
}

/// Where a wait stands.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Progress<K> {
    /// Reached: the object (`None` for a deletion).
    Done(Option<K>),
    /// Not yet.
    Pending,
}

/// One wait, driven by the client: [`on_get`](Self::on_get) first, then
/// [`watch_params`](Self::watch_params) and [`on_event`](Self::on_event) per event, and
/// [`timed_out`](Self::timed_out) when the watch ends before the goal.
#[derive(Debug)]
pub struct WaitState<K> {
    goal: Goal<K>,
    namespace: String,
    name: String,
    timeout: Duration,
    deadline: Instant,
    last: Option<K>,
    resource_version: Option<String>,
}

impl<K: Resource> WaitState<K> {
    /// A wait for `namespace/name` to reach `goal` within `timeout` from `now`.
    pub fn new(goal: Goal<K>, namespace: &str, name: &str, timeout: Duration, now: Instant) -> Result<Self> {
        super::resource::check_name(name, &format!("{} name", K::KIND))?;
        if timeout.is_zero() {
            return Err(Error::invalid_input("a wait needs a timeout greater than zero"));
        }
        Ok(WaitState {
            goal,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            timeout,
            deadline: now + timeout,
            last: None,
            resource_version: None,
        })
    }

    /// Takes the result of the first GET.
    pub fn on_get(&mut self, got: Result<K>) -> Result<Progress<K>> {
        match got {
            Ok(obj) => {
                self.resource_version = Some(obj.resource_version().to_owned());
                Ok(self.judge(obj))
            }
            Err(e) if e.kube_kind() == Some(KubeErrorKind::NotFound) => match self.goal {
                Goal::Deleted => Ok(Progress::Done(None)),
                Goal::Matches { .. } => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// The watch that follows the GET: this object only, from the GET's version, until the deadline.
    pub fn watch_params(&self, now: Instant) -> WatchParams {
        let mut params = WatchParams::object(&self.name).timeout(self.deadline.saturating_duration_since(now));
        params.resource_version = self.resource_version.clone().filter(|rv| !rv.is_empty());
        params
    }

    /// Judges one event of that watch.
    pub fn on_event(&mut self, event: WatchEvent<K>) -> Result<Progress<K>> {
        match event {
            WatchEvent::Added(obj) | WatchEvent::Modified(obj) if obj.name() == self.name => Ok(self.judge(obj)),
            WatchEvent::Deleted(obj) if obj.name() == self.name => match self.goal {
                Goal::Deleted => Ok(Progress::Done(None)),
                Goal::Matches { ref description, .. } => Err(KubeStatus::local(
                    404,
                    StatusReason::NotFound,
                    format!(
                        "{} {}/{} was deleted while waiting for {description}",
                        K::KIND,
                        self.namespace,
                        self.name
                    ),
                )
                .into()),
            },
            _ => Ok(Progress::Pending),
        }
    }

    /// Whether the deadline has passed.
    pub fn expired(&self, now: Instant) -> bool {
        now >= self.deadline
    }

    /// The error for a wait whose deadline passed.
    pub fn timed_out(&self) -> Error {
        let what = match &self.goal {
            Goal::Matches { description, .. } => description.clone(),
            Goal::Deleted => "deletion".to_owned(),
        };
        let last_seen = match &self.last {
            None => "nothing".to_owned(),
            Some(obj) => summarize(obj),
        };
        Error::WaitTimeout {
            what: format!("{} {}/{} {what}", K::KIND, self.namespace, self.name),
            after: self.timeout,
            last_seen,
        }
    }

    fn judge(&mut self, obj: K) -> Progress<K> {
        let done = match &self.goal {
            Goal::Matches { predicate, .. } => predicate(&obj),
            Goal::Deleted => false,
        };
        if done {
            Progress::Done(Some(obj))
        } else {
            self.last = Some(obj);
            Progress::Pending
        }
    }
}

/// A one-line summary of an object's state for error messages: its `status` JSON, shortened.
fn summarize<K: Resource>(obj: &K) -> String {
    let value = serde_json::to_value(obj).unwrap_or_default();
    let status = value
        .get("status")
        .map(|s| s.to_string())
        .unwrap_or_else(|| "no status".to_owned());
    let mut out = format!("resourceVersion {} status {status}", obj.resource_version());
    if out.len() > 400 {
        let mut cut = 400;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kruise::models::{Condition, ConditionStatus, SandboxSetStatus, SandboxStatus};

    fn ready(name: &str, rv: &str, ready: bool) -> Sandbox {
        let mut s = Sandbox::from_template_ref(name, "t");
        s.metadata.resource_version = Some(rv.into());
        let status = if ready {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        };
        s.status = Some(SandboxStatus {
            conditions: vec![Condition::new("Ready", status)],
            ..Default::default()
        });
        s
    }

    fn not_found() -> Error {
        KubeStatus::from_body(
            404,
            br#"{"kind":"Status","reason":"NotFound","code":404,"message":"nope"}"#,
        )
        .into()
    }

    #[test]
    fn fast_path_and_not_found() {
        let now = Instant::now();
        let mut w = WaitState::new(condition("Ready", "True"), "ns", "a", Duration::from_secs(5), now).unwrap();
        assert!(matches!(
            w.on_get(Ok(ready("a", "3", true))).unwrap(),
            Progress::Done(Some(_))
        ));
        let mut w =
            WaitState::<Sandbox>::new(condition("Ready", "True"), "ns", "a", Duration::from_secs(5), now).unwrap();
        assert!(w.on_get(Err(not_found())).is_err());
        let mut w = WaitState::<Sandbox>::new(Goal::Deleted, "ns", "a", Duration::from_secs(5), now).unwrap();
        assert_eq!(w.on_get(Err(not_found())).unwrap(), Progress::Done(None));
        assert!(WaitState::<Sandbox>::new(Goal::Deleted, "ns", "", Duration::from_secs(5), now).is_err());
        assert!(WaitState::<Sandbox>::new(Goal::Deleted, "ns", "a", Duration::ZERO, now).is_err());
    }

    #[test]
    fn watches_from_the_get_until_the_goal_or_the_deadline() {
        let now = Instant::now();
        let mut w = WaitState::new(condition("Ready", "True"), "ns", "a", Duration::from_secs(30), now).unwrap();
        assert_eq!(w.on_get(Ok(ready("a", "3", false))).unwrap(), Progress::Pending);
        let p = w.watch_params(now + Duration::from_secs(10));
        assert_eq!(p.resource_version.as_deref(), Some("3"));
        assert_eq!(p.field_selector.as_deref(), Some("metadata.name=a"));
        assert_eq!(p.timeout, Some(Duration::from_secs(20)));
        assert_eq!(
            w.on_event(WatchEvent::Modified(ready("b", "4", true))).unwrap(),
            Progress::Pending
        );
        assert_eq!(
            w.on_event(WatchEvent::Modified(ready("a", "5", false))).unwrap(),
            Progress::Pending
        );
        assert!(!w.expired(now + Duration::from_secs(29)));
        assert!(w.expired(now + Duration::from_secs(30)));
        let err = w.timed_out().to_string();
        assert!(
            err.contains("Sandbox ns/a condition Ready=True") && err.contains("resourceVersion 5"),
            "{err}"
        );
        assert!(matches!(
            w.on_event(WatchEvent::Modified(ready("a", "6", true))).unwrap(),
            Progress::Done(Some(_))
        ));
        let gone = w.on_event(WatchEvent::Deleted(ready("a", "7", false))).unwrap_err();
        assert_eq!(gone.kube_kind(), Some(KubeErrorKind::NotFound));
    }

    #[test]
    fn deletion_and_set_availability() {
        let now = Instant::now();
        let mut w = WaitState::<Sandbox>::new(Goal::Deleted, "ns", "a", Duration::from_secs(5), now).unwrap();
        assert_eq!(w.on_get(Ok(ready("a", "3", true))).unwrap(), Progress::Pending);
        assert_eq!(
            w.on_event(WatchEvent::Deleted(ready("a", "4", true))).unwrap(),
            Progress::Done(None)
        );
        let mut set = SandboxSet::from_template_ref("p", "t", 2);
        set.metadata.generation = Some(1);
        let mut w = WaitState::new(sandbox_set_available(), "ns", "p", Duration::from_secs(5), now).unwrap();
        assert_eq!(w.on_get(Ok(set.clone())).unwrap(), Progress::Pending);
        set.status = Some(SandboxSetStatus {
            observed_generation: Some(1),
            replicas: 2,
            available_replicas: 2,
            ..Default::default()
        });
        assert!(matches!(
            w.on_event(WatchEvent::Modified(set)).unwrap(),
            Progress::Done(Some(_))
        ));
        let mut w = WaitState::new(phase(SandboxPhase::Running), "ns", "a", Duration::from_secs(5), now).unwrap();
        let mut s = ready("a", "1", true);
        s.status.as_mut().unwrap().phase = Some(SandboxPhase::Running);
        assert!(matches!(w.on_get(Ok(s)).unwrap(), Progress::Done(Some(_))));
    }
}
