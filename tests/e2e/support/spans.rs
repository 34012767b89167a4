//! Captures the SDK's `agenttier.request` spans (fields as recorded by the time each span
//! closes) through a process-wide `tracing` subscriber, installed on first use.

use std::collections::BTreeMap;
use std::sync::{Mutex, Once};

use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Field name → value of one span.
pub type Fields = BTreeMap<String, String>;

static CLOSED: Mutex<Vec<Fields>> = Mutex::new(Vec::new());

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

struct Capture;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "agenttier.request" {
            return;
        }
        let mut fields = Fields::new();
        attrs.record(&mut Visitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<Fields>() {
                values.record(&mut Visitor(fields));
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(fields) = ctx.span(&id).and_then(|s| s.extensions_mut().remove::<Fields>()) {
            CLOSED.lock().unwrap().push(fields);
        }
    }
}

/// Starts capturing (once per process).
pub fn capture() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture));
    });
}

/// The closed spans whose `url.path` contains `needle`.
pub fn closed_with_path(needle: &str) -> Vec<Fields> {
    CLOSED
        .lock()
        .unwrap()
        .iter()
        .filter(|f| f.get("url.path").is_some_and(|p| p.contains(needle)))
        .cloned()
        .collect()
}
