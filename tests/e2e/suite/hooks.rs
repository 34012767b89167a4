//! Backups, webhooks (delivered to a loopback receiver and verified) and the warm-pool and
//! cluster figures.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use agenttier::Error;
use agenttier::models::{
    BackupKind, CreateSandbox, CreateWebhook, HeadroomConfig, PoolTarget, WebhookEvent, WebhookPayload,
};
use agenttier::webhook::verify_signature;

use super::{Env, maybe, pause, sdk};
use crate::support;

/// One request a receiver got: the signature header and the raw body.
struct Received {
    signature: String,
    body: Vec<u8>,
}

/// A loopback HTTP receiver on its own thread: answers each request with `statuses` in turn
/// (then 200) and hands every request over.
fn receiver(statuses: Vec<u16>) -> (String, Mutex<mpsc::Receiver<Received>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut statuses = statuses.into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut signature = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("x-agenttier-signature:") {
                    signature = line["x-agenttier-signature:".len()..].trim().to_owned();
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let status = statuses.next().unwrap_or(200);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            if tx.send(Received { signature, body }).is_err() {
                return;
            }
        }
    });
    (url, Mutex::new(rx))
}

#[maybe]
async fn next_delivery(rx: &Mutex<mpsc::Receiver<Received>>, within: Duration) -> Received {
    let started = Instant::now();
    loop {
        let got = rx.lock().unwrap().try_recv();
        if let Ok(r) = got {
            return r;
        }
        assert!(started.elapsed() < within, "no delivery within {within:?}");
        pause(Duration::from_millis(20)).await;
    }
}

#[maybe]
pub async fn webhook_is_delivered_signed_and_verified(env: Env) {
    let user = env.client_with_key(&support::user_key(&format!("{}-hooked", env.prefix)));
    let sandbox = user
        .create_sandbox(CreateSandbox::new("general-coding", env.name("hooked")))
        .await
        .unwrap();
    sandbox.wait_until_running(sdk::DEFAULT_WAIT).await.unwrap();
    // The first attempt gets a 500: the router tries again (after 1 s) and then succeeds.
    let (url, rx) = receiver(vec![500]);
    let created = user
        .webhooks()
        .create(CreateWebhook::new(&url, [WebhookEvent::SandboxStopped]).sandbox(sandbox.id()))
        .await
        .unwrap();
    assert_eq!(created.webhook.id.len(), 32);
    assert_eq!(created.secret.expose().len(), 43);
    let listed = user.webhooks().list().await.unwrap();
    assert!(
        listed.iter().any(|w| w.id == created.webhook.id && w.url == url),
        "{listed:?}"
    );
    sandbox.stop().await.unwrap();
    let failed = next_delivery(&rx, Duration::from_secs(10)).await;
    let delivered = next_delivery(&rx, Duration::from_secs(10)).await;
    assert_eq!(failed.body, delivered.body, "a retry sends the same body");
    let secret = created.secret.expose();
    assert!(
        verify_signature(secret, &delivered.body, &delivered.signature),
        "signature {} over {}",
        delivered.signature,
        String::from_utf8_lossy(&delivered.body)
    );
    assert!(!verify_signature("wrong-secret", &delivered.body, &delivered.signature));
    let payload: WebhookPayload = serde_json::from_slice(&delivered.body).unwrap();
    assert_eq!(payload.event, WebhookEvent::SandboxStopped);
    assert_eq!(payload.sandbox_id, sandbox.id());
    assert_eq!(payload.message(), "User requested stop");
    assert!(payload.timestamp.is_some());
    // The delivery is recorded once the router has written it.
    let mut deliveries = Vec::new();
    for _ in 0..100 {
        deliveries = user.webhooks().deliveries(&created.webhook.id).await.unwrap();
        if !deliveries.is_empty() {
            break;
        }
        pause(Duration::from_millis(20)).await;
    }
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert!(deliveries[0].success && deliveries[0].status_code == Some(200));
    assert_eq!(deliveries[0].attempt, 2);
    // Boundaries: other users, missing sandbox, bad URLs, unknown events.
    let other = env.client_with_key(&support::user_key(&format!("{}-hook-other", env.prefix)));
    let foreign = other.webhooks().deliveries(&created.webhook.id).await.unwrap_err();
    assert!(matches!(foreign, Error::Authorization { .. }), "{foreign:?}");
    let no_sandbox = user
        .webhooks()
        .create(CreateWebhook::new(&url, [WebhookEvent::SandboxRunning]))
        .await
        .unwrap_err();
    assert!(matches!(no_sandbox, Error::Authorization { .. }), "{no_sandbox:?}");
    let not_theirs = other
        .webhooks()
        .create(CreateWebhook::new(&url, [WebhookEvent::SandboxRunning]).sandbox(sandbox.id()))
        .await
        .unwrap_err();
    assert!(matches!(not_theirs, Error::NotFound { .. }), "{not_theirs:?}");
    let remote_http = user
        .webhooks()
        .create(CreateWebhook::new("http://192.0.2.1/x", [WebhookEvent::SandboxRunning]).sandbox(sandbox.id()))
        .await
        .unwrap_err();
    assert_eq!(remote_http.status(), Some(400), "{remote_http:?}");
    let unknown = user
        .webhooks()
        .create(CreateWebhook::new(&url, [WebhookEvent::from("sandbox.exploded")]).sandbox(sandbox.id()))
        .await
        .unwrap_err();
    assert!(matches!(unknown, Error::InvalidInput { .. }));
    user.webhooks().delete(&created.webhook.id).await.unwrap();
    let gone = user.webhooks().delete(&created.webhook.id).await.unwrap_err();
    assert!(matches!(gone, Error::NotFound { .. }));
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn backups_snapshot_and_restore_the_workspace(env: Env) {
    let user = env.client_with_key(&support::user_key(&format!("{}-backer", env.prefix)));
    let sandbox = user
        .create_sandbox(CreateSandbox::new("general-coding", env.name("backed")))
        .await
        .unwrap();
    sandbox.wait_until_running(sdk::DEFAULT_WAIT).await.unwrap();
    sandbox.exec("mkdir -p d && echo v1 > d/file.txt").await.unwrap();
    let backup = sandbox.backups().create().await.unwrap();
    assert_eq!(backup.kind, BackupKind::Backup);
    assert!(backup.ready_to_use && backup.created_at.is_some());
    assert!(
        backup.name.starts_with(&format!("{}-workspace-backup-", sandbox.id())),
        "{backup:?}"
    );
    sandbox.exec("echo v2 > d/file.txt").await.unwrap();
    let listed = sandbox.backups().list().await.unwrap();
    assert!(listed.iter().any(|b| b.name == backup.name));
    let name = env.name("restored");
    let restored = sandbox.backups().restore(&backup.name, Some(&name)).await.unwrap();
    assert_eq!(restored.id(), name);
    restored.wait_until_running(sdk::DEFAULT_WAIT).await.unwrap();
    let old = restored.exec("cat d/file.txt").await.unwrap();
    assert_eq!(old.stdout, "v1\n", "the restore has the snapshot's content");
    let current = sandbox.exec("cat d/file.txt").await.unwrap();
    assert_eq!(current.stdout, "v2\n", "the source is untouched");
    // Boundaries.
    let other = env.client_with_key(&support::user_key(&format!("{}-backer-other", env.prefix)));
    let foreign = other.sandbox(sandbox.id()).backups().list().await.unwrap_err();
    assert!(matches!(foreign, Error::NotFound { .. }), "{foreign:?}");
    let missing = sandbox.backups().restore("no-such-snapshot", None).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    let wrong_owner = restored.backups().delete(&backup.name).await.unwrap_err();
    assert!(
        matches!(wrong_owner, Error::NotFound { .. }),
        "another sandbox's snapshot: {wrong_owner:?}"
    );
    sandbox.backups().delete(&backup.name).await.unwrap();
    let after = sandbox.backups().list().await.unwrap();
    assert!(!after.iter().any(|b| b.name == backup.name));
    restored.terminate().await.unwrap();
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn warm_pool_and_cluster_report_local_figures(env: Env) {
    let user = env.client_with_key(&support::user_key(&format!("{}-capacity", env.prefix)));
    let status = user.cluster().status().await.unwrap();
    assert_eq!((status.nodes, status.nodes_ready), (1, 1));
    assert!(!status.autoscaler_enabled);
    let headroom = user.cluster().headroom().await.unwrap();
    assert!(!headroom.enabled);
    let pools = user.warm_pool().status().await.unwrap();
    assert!(pools.pools.iter().all(|p| p.ready_count == 0));
    for err in [
        user.cluster().nodes().await.unwrap_err(),
        user.cluster().set_headroom(&HeadroomConfig::new(1)).await.unwrap_err(),
        user.warm_pool().configure(&[]).await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, Error::Authorization { api } if api.message == "admin_required"),
            "{err:?}"
        );
    }
    let nodes = env.client.cluster().nodes().await.unwrap();
    assert_eq!(nodes.nodes.len(), 1);
    assert!(nodes.nodes[0].ready && nodes.nodes[0].allocatable.cpu_millis >= 1000);
    assert_eq!(nodes.summary.total, 1);
    let bad = env
        .client
        .cluster()
        .set_headroom(&HeadroomConfig::new(51))
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::InvalidInput { .. }));
    let too_many = env
        .client
        .warm_pool()
        .configure(&[PoolTarget::new("general-coding", 11)])
        .await
        .unwrap_err();
    assert!(matches!(too_many, Error::InvalidInput { .. }));
}

#[maybe]
pub async fn warm_pool_and_headroom_config_round_trip(env: Env) {
    let router = agenttier_router::LocalRouter::start(agenttier_router::RouterOptions::default()).unwrap();
    let admin = env
        .client_for(router.url())
        .api_key(router.admin_key())
        .unwrap()
        .build()
        .unwrap();
    let set = admin
        .warm_pool()
        .configure(&[PoolTarget::new("general-coding", 2)])
        .await
        .unwrap();
    assert_eq!(set.status, "updated");
    let status = admin.warm_pool().status().await.unwrap();
    assert_eq!(status.pools.len(), 1);
    assert_eq!(status.pools[0].desired_count, 2);
    assert_eq!(status.template.as_deref(), Some("general-coding"));
    let cleared = admin.warm_pool().configure(&[]).await.unwrap();
    assert!(cleared.pools.is_empty());
    let h = admin
        .cluster()
        .set_headroom(&HeadroomConfig::new(3).size("500m", "1Gi"))
        .await
        .unwrap();
    assert_eq!((h.replicas, h.cpu.as_str(), h.memory.as_str()), (3, "500m", "1Gi"));
    let read = admin.cluster().headroom().await.unwrap();
    assert_eq!(read.replicas, 3);
    // No headroom Deployment runs locally, so `readyReplicas` is absent, as on the Router.
    assert_eq!((read.ready_replicas, read.enabled), (None, false));
    drop(admin);
    router.shutdown();
}
