//! Templates, the current user, ownership boundaries and credentials.

use agenttier::Error;
use agenttier::models::{CreateSandbox, SandboxFilter, SandboxMode};

use super::{Env, maybe, sdk};
use crate::support;

#[maybe]
pub async fn templates_and_current_user(env: Env) {
    let templates = env.client.list_templates().await.unwrap();
    let general = templates
        .iter()
        .find(|t| t.name == "general-coding")
        .expect("built-in general-coding template");
    assert_eq!(general.mode(), SandboxMode::Code);
    assert!(
        templates.iter().any(|t| t.mode() == SandboxMode::Agent),
        "a built-in agent template"
    );
    let one = env.client.get_template("general-coding").await.unwrap();
    assert_eq!(one.name, "general-coding");
    let missing = env.client.get_template("no-such-template").await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    let me = env.client.current_user().await.unwrap();
    assert!(me.is_admin, "{me:?}");
    let user = env.client_with_key(&support::user_key(&format!("{}-reader", env.prefix)));
    let them = user.current_user().await.unwrap();
    assert_eq!(them.name, format!("{}-reader", env.prefix));
    assert!(!them.is_admin);
    assert!(them.groups.is_empty());
}

#[maybe]
pub async fn users_see_only_their_own_sandboxes(env: Env) {
    let alice = env.client_with_key(&support::user_key(&format!("{}-alice", env.prefix)));
    let bob = env.client_with_key(&support::user_key(&format!("{}-bob", env.prefix)));
    let name = env.name("owned");
    let sandbox = alice
        .create_sandbox(CreateSandbox::new("general-coding", &name))
        .await
        .unwrap();
    sandbox.wait_until_running(sdk::DEFAULT_WAIT).await.unwrap();

    let get = bob.get_sandbox(&name).await.unwrap_err();
    assert!(matches!(get, Error::NotFound { .. }), "{get:?}");
    let listed = bob.list_sandboxes(SandboxFilter::all()).await.unwrap();
    assert!(!listed.iter().any(|s| s.id() == name));
    let foreign = bob.sandbox(&name);
    for err in [
        foreign.exec("true").await.unwrap_err(),
        foreign.stop().await.unwrap_err(),
        foreign.forward_port(3000).await.unwrap_err(),
        foreign.terminate().await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    }
    // The admin sees everyone's; the owner still has it.
    let all = env.client.list_sandboxes(SandboxFilter::all()).await.unwrap();
    assert!(all.iter().any(|s| s.id() == name));
    let owner_view = alice.get_sandbox(&name).await;
    assert!(owner_view.is_ok());
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn bad_credentials_are_authentication_errors(env: Env) {
    let wrong = env.client_with_key("atk_not-a-real-key");
    let err = wrong.current_user().await.unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("AGENTTIER_API_KEY"), "the error says what to do: {text}");
    assert!(
        !text.contains("atk_not-a-real-key"),
        "the key never appears in errors: {text}"
    );
    let anonymous = sdk::Client::builder()
        .base_url(support::router().url())
        .auth(agenttier::Auth::None)
        .build()
        .unwrap();
    let err = anonymous.list_sandboxes(SandboxFilter::all()).await.unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
    let bearer = sdk::Client::builder()
        .base_url(support::router().url())
        .bearer_token("some.jwt.token")
        .unwrap()
        .build()
        .unwrap();
    let err = bearer.current_user().await.unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
}
