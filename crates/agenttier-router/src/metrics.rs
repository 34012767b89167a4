//! `GET /metrics`: the Router's agent-mode metrics in the Prometheus text format, labelled by
//! template and outcome (never by sandbox or user), plus the number of sandboxes per phase.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// The agent-mode calls that are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Call {
    Configure,
    Invoke,
}

impl Call {
    fn name(self) -> &'static str {
        match self {
            Call::Configure => "configure",
            Call::Invoke => "invoke",
        }
    }

    /// Upper bounds of the duration histogram, in seconds (the Router's buckets: doubling from
    /// 0.1 s for configure and from 0.5 s for invoke, twelve of them).
    fn buckets(self) -> impl Iterator<Item = f64> {
        let first = match self {
            Call::Configure => 0.1,
            Call::Invoke => 0.5,
        };
        (0..12).map(move |i| first * f64::from(1u32 << i))
    }
}

/// Count, total seconds and per-bucket counts of one (call, template, outcome).
#[derive(Default)]
struct Series {
    count: u64,
    seconds: f64,
    buckets: [u64; 12],
}

/// Counters since the router started.
#[derive(Default)]
pub(crate) struct Metrics {
    series: Mutex<BTreeMap<(Call, String, &'static str), Series>>,
}

/// The outcome of an invoke refused by the per-sandbox concurrency cap.
pub(crate) const THROTTLED: &str = "throttled";

impl Metrics {
    /// Records a finished call.
    pub(crate) fn record(&self, call: Call, template: &str, outcome: &'static str, took: Duration) {
        let label = if template.is_empty() { "_none" } else { template };
        let secs = took.as_secs_f64();
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let s = series.entry((call, label.to_owned(), outcome)).or_default();
        s.count += 1;
        s.seconds += secs;
        for (slot, bound) in s.buckets.iter_mut().zip(call.buckets()) {
            if secs <= bound {
                *slot += 1;
            }
        }
    }

    /// The exposition text; `phases` are the sandbox counts per phase.
    pub(crate) fn render(&self, phases: &BTreeMap<&'static str, usize>) -> String {
        let series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for call in [Call::Configure, Call::Invoke] {
            let name = call.name();
            let mine = || series.iter().filter(move |((c, _, _), _)| *c == call);
            let _ = writeln!(
                out,
                "# HELP agenttier_{name}_requests_total /{name} calls by template and outcome.\n\
                 # TYPE agenttier_{name}_requests_total counter"
            );
            for ((_, template, outcome), s) in mine() {
                let labels = labels(template, outcome);
                let _ = writeln!(out, "agenttier_{name}_requests_total{{{labels}}} {}", s.count);
            }
            let _ = writeln!(
                out,
                "# HELP agenttier_{name}_duration_seconds Wall-clock time of /{name} calls.\n\
                 # TYPE agenttier_{name}_duration_seconds histogram"
            );
            for ((_, template, outcome), s) in mine() {
                let labels = labels(template, outcome);
                for (count, bound) in s.buckets.iter().zip(call.buckets()) {
                    let _ = writeln!(
                        out,
                        "agenttier_{name}_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "agenttier_{name}_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                     agenttier_{name}_duration_seconds_sum{{{labels}}} {}\n\
                     agenttier_{name}_duration_seconds_count{{{labels}}} {}",
                    s.count, s.seconds, s.count
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP agenttier_invoke_throttled_total /invoke calls refused by the per-sandbox concurrency cap.\n\
             # TYPE agenttier_invoke_throttled_total counter\n\
             agenttier_invoke_throttled_total {}",
            series
                .iter()
                .filter(|((call, _, outcome), _)| *call == Call::Invoke && *outcome == THROTTLED)
                .map(|(_, s)| s.count)
                .sum::<u64>()
        );
        let _ = writeln!(
            out,
            "# HELP agenttier_sandboxes Sandboxes known to this router, by phase.\n\
             # TYPE agenttier_sandboxes gauge"
        );
        for (phase, n) in phases {
            let _ = writeln!(out, "agenttier_sandboxes{{phase=\"{phase}\"}} {n}");
        }
        out
    }
}

/// The labels of one series.
fn labels(template: &str, outcome: &str) -> String {
    format!("template=\"{}\",outcome=\"{outcome}\"", escape(template))
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_phases() {
        let m = Metrics::default();
        m.record(Call::Invoke, "agent-python", "completed", Duration::from_millis(700));
        m.record(Call::Invoke, "agent-python", "completed", Duration::from_millis(100));
        m.record(Call::Configure, "", "ok", Duration::from_millis(50));
        m.record(Call::Invoke, "agent-python", THROTTLED, Duration::ZERO);
        m.record(Call::Invoke, "other", THROTTLED, Duration::ZERO);
        let text = m.render(&BTreeMap::from([("Running", 2)]));
        let has = |line: &str| assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        has(r#"agenttier_invoke_requests_total{template="agent-python",outcome="completed"} 2"#);
        has(r#"agenttier_invoke_duration_seconds_bucket{template="agent-python",outcome="completed",le="0.5"} 1"#);
        has(r#"agenttier_invoke_duration_seconds_bucket{template="agent-python",outcome="completed",le="1"} 2"#);
        has(r#"agenttier_invoke_duration_seconds_bucket{template="agent-python",outcome="completed",le="+Inf"} 2"#);
        has(r#"agenttier_invoke_duration_seconds_count{template="agent-python",outcome="completed"} 2"#);
        has(r#"agenttier_configure_requests_total{template="_none",outcome="ok"} 1"#);
        has(r#"agenttier_configure_duration_seconds_bucket{template="_none",outcome="ok",le="0.1"} 1"#);
        has("agenttier_invoke_throttled_total 2");
        has(r#"agenttier_sandboxes{phase="Running"} 2"#);
        assert_eq!(escape("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    }
}
