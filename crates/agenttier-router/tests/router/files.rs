//! Files: list, download, upload and archive; the 32 MiB limit both ways; confinement to
//! `/workspace` (`..`, absolute paths, symlinks made inside the sandbox, forbidden characters).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::common::*;

const MAX: usize = 32 * 1024 * 1024;

struct Raw {
    status: u16,
    headers: ureq::http::HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn error(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)));
        v["error"].as_str().unwrap_or_default().to_owned()
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

fn raw(http: &Http, method: &str, path: &str, body: Option<Vec<u8>>) -> Raw {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{}", http.base, path))
        .header("X-API-Key", http.key.as_deref().unwrap());
    let resp = match body {
        Some(b) => agent.run(req.header("Content-Type", "application/octet-stream").body(b).unwrap()),
        None => agent.run(req.body(()).unwrap()),
    };
    let mut resp = resp.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap();
    Raw { status, headers, body }
}

/// Sends a request by hand (bad request lines, chunked bodies) and returns status and body.
fn by_hand(http: &Http, head: &str, body: impl FnOnce(&mut TcpStream)) -> (u16, String) {
    let addr = http.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let key = http.key.as_deref().unwrap();
    write!(s, "{head}\r\nHost: {addr}\r\nX-API-Key: {key}\r\n").unwrap();
    body(&mut s);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn upload_download_list_round_trip() {
    let (_r, http) = start();
    http.create_running("fl");
    let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let r = raw(
        &http,
        "PUT",
        "/api/v1/sandboxes/fl/files/workspace/deep/er/b%20in.dat",
        Some(data.clone()),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.body, b"{\"path\":\"/workspace/deep/er/b in.dat\",\"bytes\":100000}\n");

    let r = raw(
        &http,
        "GET",
        "/api/v1/sandboxes/fl/files/workspace/deep/er/b%20in.dat",
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, data);
    assert_eq!(r.header("content-type"), "application/octet-stream");
    assert_eq!(r.header("content-length"), "100000");
    assert_eq!(r.header("content-disposition"), "attachment; filename=\"bin.dat\"");

    // Overwrite, empty file, visible to exec.
    assert_eq!(
        raw(
            &http,
            "PUT",
            "/api/v1/sandboxes/fl/files/workspace/deep/er/b%20in.dat",
            Some(vec![])
        )
        .status,
        201
    );
    assert!(
        raw(
            &http,
            "GET",
            "/api/v1/sandboxes/fl/files/workspace/deep/er/b%20in.dat",
            None
        )
        .body
        .is_empty()
    );
    http.exec(
        "fl",
        "mkdir -p /workspace/d && printf hi > /workspace/d/x && chmod 0751 /workspace/d/x && ln -s x /workspace/d/l",
    );

    let r = http.get("/api/v1/sandboxes/fl/files/?path=/workspace/d");
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["path"], "/workspace/d");
    let entries = j["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{j}");
    assert_eq!(entries[0]["name"], "l -> x");
    assert!(entries[0]["mode"].as_str().unwrap().starts_with('l'));
    assert_eq!(entries[1]["name"], "x");
    assert_eq!(entries[1]["size"], 2);
    assert_eq!(entries[1]["isDir"], false);
    assert_eq!(entries[1]["mode"], "-rwxr-x--x");
    assert!(entries[1]["modifiedAt"].as_i64().unwrap() > 1_700_000_000);
    // Default path is /workspace; directories are flagged.
    let j = http.get("/api/v1/sandboxes/fl/files/").json();
    assert_eq!(j["path"], "/workspace");
    let d = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "d")
        .unwrap()
        .clone();
    assert_eq!(d["isDir"], true);
    assert!(d["mode"].as_str().unwrap().starts_with('d'));
    // Reading through an inside symlink works.
    assert_eq!(
        raw(&http, "GET", "/api/v1/sandboxes/fl/files/workspace/d/l", None).body,
        b"hi"
    );
}

#[test]
fn not_found_conflict_and_ownership() {
    let (r, http) = start();
    http.create_running("nf");
    http.exec("nf", "mkdir -p /workspace/dir");
    let g = raw(&http, "GET", "/api/v1/sandboxes/nf/files/workspace/nope.txt", None);
    assert_eq!(
        (g.status, g.error().as_str()),
        (404, "file not found: /workspace/nope.txt")
    );
    let g = raw(&http, "GET", "/api/v1/sandboxes/nf/files/workspace/dir", None);
    assert_eq!((g.status, g.error().as_str()), (404, "file not found: /workspace/dir"));
    let l = http.get("/api/v1/sandboxes/nf/files/?path=/workspace/nope");
    assert_eq!((l.status, l.error().as_str()), (404, "path not found: /workspace/nope"));
    let a = http.get("/api/v1/sandboxes/nf/archive?path=/workspace/nope");
    assert_eq!(
        (a.status, a.error().as_str()),
        (404, "directory not found: /workspace/nope")
    );
    // No trailing slash: the mux's plain-text 404.
    let t = http.get("/api/v1/sandboxes/nf/files");
    assert_eq!((t.status, t.body.as_str()), (404, "404 page not found\n"));

    let bob = http.with_key(&r.create_key("bob", false, &[]).unwrap());
    for (m, p) in [
        ("GET", "/api/v1/sandboxes/nf/files/?path=/workspace"),
        ("GET", "/api/v1/sandboxes/nf/files/workspace/x"),
        ("PUT", "/api/v1/sandboxes/nf/files/workspace/x"),
        ("GET", "/api/v1/sandboxes/nf/archive"),
    ] {
        let body = (m == "PUT").then(|| b"x".to_vec());
        let got = raw(&bob, m, p, body);
        assert_eq!(
            (got.status, got.error().as_str()),
            (404, "sandbox nf not found"),
            "{m} {p}"
        );
    }
    http.post_empty("/api/v1/sandboxes/nf/stop");
    http.wait_phase("nf", "Stopped");
    for (m, p) in [
        ("GET", "/api/v1/sandboxes/nf/files/"),
        ("GET", "/api/v1/sandboxes/nf/files/workspace/x"),
        ("PUT", "/api/v1/sandboxes/nf/files/workspace/x"),
        ("GET", "/api/v1/sandboxes/nf/archive"),
    ] {
        let body = (m == "PUT").then(|| b"x".to_vec());
        let got = raw(&http, m, p, body);
        assert_eq!(
            (got.status, got.error().as_str()),
            (409, "sandbox is not running"),
            "{m} {p}"
        );
    }
}

#[test]
fn the_32_mib_limit_is_exact_both_ways() {
    let (_r, http) = start();
    http.create_running("lim");
    let full = vec![7u8; MAX];
    let r = raw(
        &http,
        "PUT",
        "/api/v1/sandboxes/lim/files/workspace/full.bin",
        Some(full.clone()),
    );
    assert_eq!(r.status, 201);
    let g = raw(&http, "GET", "/api/v1/sandboxes/lim/files/workspace/full.bin", None);
    assert_eq!((g.status, g.body.len()), (200, MAX));
    assert!(g.body == full);

    // Declared too large: refused before the body is read.
    let (status, body) = by_hand(
        &http,
        "PUT /api/v1/sandboxes/lim/files/workspace/over.bin HTTP/1.1",
        |s| write!(s, "Content-Length: {}\r\nConnection: close\r\n\r\n", MAX + 1).unwrap(),
    );
    assert_eq!(status, 413);
    assert_eq!(body, "{\"error\":\"payload exceeds 33554432 bytes\"}\n");
    // Chunked, one byte over: counted while streaming, nothing stored.
    let (status, body) = by_hand(
        &http,
        "PUT /api/v1/sandboxes/lim/files/workspace/over.bin HTTP/1.1",
        |s| {
            write!(s, "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").unwrap();
            let chunk = vec![1u8; 1 << 20];
            for _ in 0..32 {
                if write!(s, "{:x}\r\n", chunk.len())
                    .and_then(|_| s.write_all(&chunk))
                    .and_then(|_| s.write_all(b"\r\n"))
                    .is_err()
                {
                    return;
                }
            }
            let _ = s.write_all(b"1\r\nx\r\n0\r\n\r\n");
        },
    );
    assert_eq!(
        (status, body.contains("payload exceeds 33554432 bytes")),
        (413, true),
        "{body}"
    );
    let ls = http.exec("lim", "ls -a /workspace");
    assert_eq!(
        ls["stdout"], ".\n..\nfull.bin\n",
        "no partial or temporary file is left"
    );

    // A file grown past the limit inside the sandbox is not served.
    http.exec("lim", "truncate -s 33554433 /workspace/big.bin");
    let g = raw(&http, "GET", "/api/v1/sandboxes/lim/files/workspace/big.bin", None);
    assert_eq!(g.status, 413);
    assert_eq!(
        g.error(),
        "file is 33554433 bytes, max 33554432 — use the terminal for large files"
    );
}

#[test]
fn paths_are_confined_to_the_workspace() {
    let (_r, http) = start();
    http.create_running("conf");
    http.exec(
        "conf",
        "mkdir -p /workspace/in && echo ok > /workspace/in/f && ln -s /etc /workspace/etc && ln -s ../.. /workspace/in/up && ln -s /etc/passwd /workspace/pw",
    );
    let under = "path must live under /workspace";
    let disallowed = "path contains disallowed characters";
    let cases: &[(&str, &str, &str)] = &[
        ("GET", "/api/v1/sandboxes/conf/files/etc/passwd", under),
        ("GET", "/api/v1/sandboxes/conf/files/workspace/../etc/passwd", under),
        ("GET", "/api/v1/sandboxes/conf/files/workspace/%2E%2E/etc/passwd", under),
        ("GET", "/api/v1/sandboxes/conf/files/a.txt", under),
        ("GET", "/api/v1/sandboxes/conf/files/?path=/etc", under),
        ("GET", "/api/v1/sandboxes/conf/files/?path=/workspace/../etc", under),
        ("GET", "/api/v1/sandboxes/conf/archive?path=/", under),
        ("GET", "/api/v1/sandboxes/conf/archive?path=/workspace/..", under),
        ("PUT", "/api/v1/sandboxes/conf/files/tmp/x", under),
        ("GET", "/api/v1/sandboxes/conf/files/workspace/it%27s", disallowed),
        ("GET", "/api/v1/sandboxes/conf/files/workspace/a%5Cb", disallowed),
        ("GET", "/api/v1/sandboxes/conf/files/workspace/a%60b", disallowed),
        ("GET", "/api/v1/sandboxes/conf/files/workspace/a%0Ab", disallowed),
        ("GET", "/api/v1/sandboxes/conf/files/workspace/a%0Db", disallowed),
        ("GET", "/api/v1/sandboxes/conf/files/workspace/a%00b", disallowed),
        ("PUT", "/api/v1/sandboxes/conf/files/workspace/a%00b", disallowed),
        ("GET", "/api/v1/sandboxes/conf/files/?path=/workspace/a%00", disallowed),
    ];
    for (m, p, want) in cases {
        let body = (*m == "PUT").then(|| b"x".to_vec());
        let got = raw(&http, m, p, body);
        assert_eq!((got.status, got.error().as_str()), (400, *want), "{m} {p}");
    }
    // Symlinks made inside the sandbox that point out are never followed.
    for (m, p) in [
        ("GET", "/api/v1/sandboxes/conf/files/workspace/etc/passwd"),
        ("GET", "/api/v1/sandboxes/conf/files/workspace/pw"),
        ("GET", "/api/v1/sandboxes/conf/files/workspace/in/up/etc/passwd"),
        ("PUT", "/api/v1/sandboxes/conf/files/workspace/etc/evil"),
        ("PUT", "/api/v1/sandboxes/conf/files/workspace/pw"),
        ("GET", "/api/v1/sandboxes/conf/files/?path=/workspace/etc"),
        ("GET", "/api/v1/sandboxes/conf/archive?path=/workspace/etc"),
    ] {
        let body = (m == "PUT").then(|| b"x".to_vec());
        let got = raw(&http, m, p, body);
        assert_eq!(got.status, 400, "{m} {p}: {}", String::from_utf8_lossy(&got.body));
        assert!(
            got.error().starts_with("path escapes /workspace through a symlink"),
            "{}",
            got.error()
        );
    }
    assert!(!std::path::Path::new("/etc/evil").exists());
    // Overlong paths.
    let long = format!("/api/v1/sandboxes/conf/files/workspace/{}", "a".repeat(300));
    assert_eq!(raw(&http, "GET", &long, None).status, 400);
    let longer = format!("/api/v1/sandboxes/conf/files/workspace/{}", "a/".repeat(2100));
    let got = raw(&http, "GET", &longer, None);
    assert_eq!(got.status, 400);
    assert!(got.error().starts_with("path too long"), "{}", got.error());
    // Inside paths that merely contain `..` still work, as on the Router.
    let ok = raw(&http, "GET", "/api/v1/sandboxes/conf/files/workspace/in/../in/f", None);
    assert_eq!((ok.status, ok.body.as_slice()), (200, b"ok\n".as_slice()));
}

#[test]
fn archive_streams_a_zip_of_the_directory() {
    let (_r, http) = start();
    http.create_running("arc");
    http.exec(
        "arc",
        "mkdir -p /workspace/src/empty && printf 'fn main() {}' > /workspace/src/main.rs && \
         head -c 300000 /dev/urandom > /workspace/src/blob && ln -s /etc/passwd /workspace/src/link && \
         mkfifo /workspace/src/fifo && echo top > /workspace/top.txt",
    );
    let r = raw(&http, "GET", "/api/v1/sandboxes/arc/archive", None);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), "application/zip");
    assert_eq!(
        r.header("content-disposition"),
        "attachment; filename=\"arc-workspace.zip\""
    );
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    assert!(r.headers.get("content-length").is_none());
    let blob = http.exec("arc", "sha256sum /workspace/src/blob | cut -d' ' -f1")["stdout"]
        .as_str()
        .unwrap()
        .trim()
        .to_owned();

    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(r.body)).unwrap();
    let mut names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(
        names,
        ["src/", "src/blob", "src/empty/", "src/link", "src/main.rs", "top.txt"],
        "fifo skipped, names relative"
    );
    let mut read = |name: &str| {
        let mut f = zip.by_name(name).unwrap();
        let method = f.compression();
        let mut out = Vec::new();
        f.read_to_end(&mut out).unwrap();
        (out, method)
    };
    let (main, method) = read("src/main.rs");
    assert_eq!(
        (main.as_slice(), method),
        (b"fn main() {}".as_slice(), zip::CompressionMethod::Deflated)
    );
    let (link, method) = read("src/link");
    assert_eq!(
        (link.as_slice(), method),
        (b"/etc/passwd".as_slice(), zip::CompressionMethod::Stored)
    );
    let (data, _) = read("src/blob");
    assert_eq!(data.len(), 300_000);
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&data))
    };
    assert_eq!(digest, blob);

    let sub = raw(
        &http,
        "GET",
        "/api/v1/sandboxes/arc/archive?path=/workspace/src/empty",
        None,
    );
    assert_eq!(sub.status, 200);
    assert_eq!(
        sub.header("content-disposition"),
        "attachment; filename=\"arc-empty.zip\""
    );
    assert_eq!(zip::ZipArchive::new(std::io::Cursor::new(sub.body)).unwrap().len(), 0);
}
