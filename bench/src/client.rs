//! Client workloads, each run in a child process of its own so that its CPU time and memory are
//! its own (the router runs in the parent). The raw baselines send the same GET with the key
//! header and parse the body with serde_json: what a user would write without the SDK.

use std::time::Duration;

use agenttier::models::{Invoke, InvokeEvent};
use futures_util::StreamExt;
use serde_json::Value;

use crate::measure::measure;

/// Everything a child needs, passed on its command line.
pub struct Job {
    pub kind: String,
    pub url: String,
    pub key: String,
    pub sandbox: String,
    pub ops: usize,
    pub concurrency: usize,
}

/// Runs one workload and returns its figures.
pub fn run(job: &Job) -> Value {
    match job.kind.as_str() {
        "rust-blocking-get" => rust_blocking_get(job),
        "raw-ureq-get" => raw_ureq_get(job),
        "rust-async-get" => runtime().block_on(rust_async_get(job)),
        "raw-reqwest-get" => runtime().block_on(raw_reqwest_get(job)),
        "rust-blocking-stream" => rust_blocking_stream(job),
        "rust-async-stream" => runtime().block_on(rust_async_stream(job)),
        other => panic!("unknown client kind {other}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn blocking_client(job: &Job) -> agenttier::blocking::Client {
    let client = agenttier::blocking::Client::builder()
        .base_url(&job.url)
        .api_key(&job.key)
        .expect("key");
    client
        .stream_idle_timeout(Duration::from_secs(600))
        .build()
        .expect("client")
}

fn async_client(job: &Job) -> agenttier::Client {
    let client = agenttier::Client::builder()
        .base_url(&job.url)
        .api_key(&job.key)
        .expect("key");
    client
        .stream_idle_timeout(Duration::from_secs(600))
        .build()
        .expect("client")
}

fn rust_blocking_get(job: &Job) -> Value {
    let client = blocking_client(job);
    client.get_sandbox(&job.sandbox).expect("warm-up");
    measure(job.ops, || {
        for _ in 0..job.ops {
            client.get_sandbox(&job.sandbox).expect("get_sandbox");
        }
    })
}

fn raw_ureq_get(job: &Job) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let url = format!("{}/api/v1/sandboxes/{}", job.url, job.sandbox);
    let get = || {
        let mut resp = agent.get(&url).header("X-API-Key", &job.key).call().expect("GET");
        let body = resp.body_mut().read_to_vec().expect("body");
        let sandbox: Value = serde_json::from_slice(&body).expect("JSON");
        assert!(sandbox.is_object());
    };
    get();
    measure(job.ops, || (0..job.ops).for_each(|_| get()))
}

async fn rust_async_get(job: &Job) -> Value {
    let client = async_client(job);
    client.get_sandbox(&job.sandbox).await.expect("warm-up");
    let handle = tokio::runtime::Handle::current();
    let sandbox = job.sandbox.clone();
    tokio::task::block_in_place(|| {
        measure(job.ops, || {
            handle.block_on(
                futures_util::stream::iter(0..job.ops)
                    .map(|_| {
                        let (client, sandbox) = (client.clone(), sandbox.clone());
                        async move { client.get_sandbox(&sandbox).await.expect("get_sandbox") }
                    })
                    .buffer_unordered(job.concurrency)
                    .for_each(|_| async {}),
            )
        })
    })
}

async fn raw_reqwest_get(job: &Job) -> Value {
    let http = reqwest::Client::builder().build().expect("reqwest");
    let url = format!("{}/api/v1/sandboxes/{}", job.url, job.sandbox);
    let get = |http: reqwest::Client, url: String, key: String| async move {
        let resp = http.get(url).header("X-API-Key", key).send().await.expect("GET");
        assert!(resp.status().is_success());
        let body = resp.bytes().await.expect("body");
        let sandbox: Value = serde_json::from_slice(&body).expect("JSON");
        assert!(sandbox.is_object());
    };
    get(http.clone(), url.clone(), job.key.clone()).await;
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        measure(job.ops, || {
            handle.block_on(
                futures_util::stream::iter(0..job.ops)
                    .map(|_| get(http.clone(), url.clone(), job.key.clone()))
                    .buffer_unordered(job.concurrency)
                    .for_each(|_| async {}),
            )
        })
    })
}

fn rust_blocking_stream(job: &Job) -> Value {
    let client = blocking_client(job);
    let agent = client.sandbox(&job.sandbox).agent();
    measure(job.ops, || {
        let mut lines = 0;
        for event in agent.invoke_stream(Invoke::empty()).expect("invoke") {
            if let InvokeEvent::Log { .. } = event.expect("event") {
                lines += 1;
            }
        }
        assert_eq!(lines, job.ops, "every line arrived");
    })
}

async fn rust_async_stream(job: &Job) -> Value {
    let client = async_client(job);
    let agent = client.sandbox(&job.sandbox).agent();
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        measure(job.ops, || {
            handle.block_on(async {
                let mut stream = agent.invoke_stream(Invoke::empty()).await.expect("invoke");
                let mut lines = 0;
                while let Some(event) = stream.next().await {
                    if let InvokeEvent::Log { .. } = event.expect("event") {
                        lines += 1;
                    }
                }
                assert_eq!(lines, job.ops, "every line arrived");
            })
        })
    })
}
