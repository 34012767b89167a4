//! The route table of the wire spec (§14, kept in `wire_routes.txt`) against the local router:
//! every route must be served. The clients' side (every route has a typed call) is the suite
//! case `surface::every_spec_route_has_a_client_call`, run for both flavours.

use agenttier::Auth;
use agenttier::blocking::Client;

use crate::support::{self, routes};

/// Each route answers a credential-less request as a routed request does: with an
/// `X-Request-ID` (normally `401` for `/api/v1` routes, success for the open ones), where the
/// mux answers unknown paths `404 page not found` and wrong methods `405` before any middleware,
/// without one (wire spec §0.1). Request guards added in front of authentication keep this
/// check valid: their answers carry an id too.
#[test]
fn the_local_router_serves_every_spec_route() {
    let anon = Client::builder()
        .base_url(support::router().url())
        .auth(Auth::None)
        .build()
        .unwrap();
    let mut missing = Vec::new();
    for route in routes::spec_routes() {
        let method = agenttier::Method::from_bytes(route.sample_method().as_bytes()).unwrap();
        let answer = anon.request(method, &route.sample_path()).send();
        let served = match &answer {
            Ok(_) => true,
            Err(e) => e.request_id().is_some(),
        };
        let pending = routes::NOT_ROUTED_YET.iter().any(|(k, _)| *k == route.key());
        if !served && !pending {
            missing.push(format!("{}: {answer:?}", route.key()));
        }
    }
    assert!(
        missing.is_empty(),
        "spec routes the local router does not serve:\n{}",
        missing.join("\n")
    );
}
