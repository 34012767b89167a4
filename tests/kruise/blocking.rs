//! The suite, compiled against the blocking client.

pub(crate) use maybe_async::must_be_sync as maybe;

pub(crate) mod sdk {
    pub use agenttier::blocking::kruise::{KruiseClient, WatchStream};

    /// The next event of a watch.
    pub fn next_event<K: agenttier::kruise::Resource>(
        stream: &mut WatchStream<K>,
    ) -> Option<agenttier::Result<agenttier::kruise::WatchEvent<K>>> {
        stream.next()
    }
}

#[path = "suite/mod.rs"]
mod suite;

fn run(case: fn(suite::Env)) {
    case(suite::Env { prefix: "b" });
}

macro_rules! flavour_tests {
    ($($module:ident :: $case:ident),* $(,)?) => {
        $( #[test] fn $case() { run(suite::$module::$case) } )*
    };
}

suite::for_each_case!(flavour_tests);

pub(crate) fn pause(d: std::time::Duration) {
    std::thread::sleep(d);
}
