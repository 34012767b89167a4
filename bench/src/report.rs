//! The results: a readable table, the targets the project set itself, and a JSON file.

use serde_json::{Value, json};

/// One measured run of one client.
pub struct Row {
    pub scenario: String,
    pub client: String,
    pub figures: Value,
}

impl Row {
    fn num(&self, key: &str) -> f64 {
        self.figures[key].as_f64().unwrap_or(f64::NAN)
    }

    /// Operations (calls, events, runs) per second.
    pub fn rate(&self) -> f64 {
        self.num("ops") / self.num("wall_s")
    }

    /// Client CPU time (user + system) per operation, in microseconds.
    pub fn cpu_us_per_op(&self) -> f64 {
        (self.num("user_s") + self.num("sys_s")) * 1e6 / self.num("ops")
    }

    /// Mean wall time per operation, in milliseconds.
    pub fn ms_per_op(&self) -> f64 {
        self.num("wall_s") * 1e3 / self.num("ops")
    }

    /// Peak resident memory in MiB (`NaN` when not measured).
    pub fn rss_mib(&self) -> f64 {
        self.num("max_rss_kib") / 1024.0
    }
}

/// One target and where we stand.
pub struct Target {
    pub name: String,
    pub goal: String,
    pub measured: String,
    pub met: Option<bool>,
}

/// Prints the table of rows and the targets.
pub fn print(rows: &[Row], targets: &[Target]) {
    println!();
    println!(
        "{:<34} {:<22} {:>9} {:>9} {:>12} {:>12} {:>10} {:>9}",
        "scenario", "client", "ops", "wall s", "ops/s", "ms/op", "CPU us/op", "RSS MiB"
    );
    println!("{}", "-".repeat(124));
    for r in rows {
        println!(
            "{:<34} {:<22} {:>9} {:>9.3} {:>12.0} {:>12.3} {:>10.1} {:>9.1}",
            r.scenario,
            r.client,
            r.num("ops"),
            r.num("wall_s"),
            r.rate(),
            r.ms_per_op(),
            r.cpu_us_per_op(),
            r.rss_mib()
        );
    }
    println!();
    let [a, b, c, d] = ["target", "goal", "measured", "met"];
    println!("{a:<58} {b:<16} {c:<30} {d}");
    println!("{}", "-".repeat(112));
    for t in targets {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "n/a",
        };
        println!("{:<58} {:<16} {:<30} {}", t.name, t.goal, t.measured, met);
    }
}

/// Everything as JSON.
pub fn json(rows: &[Row], targets: &[Target], machine: Value, quick: bool) -> Value {
    json!({
        "machine": machine,
        "quick": quick,
        "rows": rows.iter().map(|r| json!({
            "scenario": r.scenario, "client": r.client, "figures": r.figures,
            "ops_per_s": finite(r.rate()), "cpu_us_per_op": finite(r.cpu_us_per_op()), "ms_per_op": finite(r.ms_per_op()),
        })).collect::<Vec<_>>(),
        "targets": targets.iter().map(|t| json!({"name": t.name, "goal": t.goal, "measured": t.measured, "met": t.met})).collect::<Vec<_>>(),
    })
}

fn finite(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}
