//! The suite, compiled against the blocking client.

pub(crate) use maybe_async::must_be_sync as maybe;

pub(crate) mod sdk {
    pub use agenttier::blocking::*;
}

#[path = "suite/mod.rs"]
mod suite;

/// Runs one case.
fn run(case: fn(suite::Env)) {
    case(suite::Env::new("b"));
}

macro_rules! flavour_tests {
    ($($module:ident :: $case:ident),* $(,)?) => {
        $( #[test] fn $case() { run(suite::$module::$case) } )*
    };
}

suite::for_each_case!(flavour_tests);

/// Reads a streamed file to its end (`std::io::Read` here).
pub(crate) fn read_all(mut reader: agenttier::blocking::FileReader) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut out).unwrap();
    out
}

/// Waits without blocking anything else (here: the thread).
pub(crate) fn pause(d: std::time::Duration) {
    std::thread::sleep(d);
}

/// A builder sending through a ureq agent of the user's own, with ureq's defaults (which turn
/// error statuses into errors and follow redirects).
pub(crate) fn own_http(builder: agenttier::blocking::ClientBuilder) -> agenttier::blocking::ClientBuilder {
    builder.ureq_agent(agenttier::blocking::ureq::Agent::new_with_defaults())
}

/// `Client::with_sandbox` running `command`, then failing when `fail` is set (the closure's
/// shape is each flavour's own).
pub(crate) fn scoped_exec(
    client: &sdk::Client,
    params: agenttier::models::CreateSandbox,
    command: &str,
    fail: bool,
) -> agenttier::Result<String> {
    client.with_sandbox(params, |sb| {
        let out = sb.exec(command)?;
        if fail {
            return Err(agenttier::Error::invalid_input("the closure failed"));
        }
        Ok(out.stdout)
    })
}
