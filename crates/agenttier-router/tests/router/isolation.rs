//! Namespace isolation (root on Linux only) and the plain-process fallback.

use agenttier_router::{IsolationMode, RouterOptions};

use super::common::*;

#[test]
fn namespaces_isolate_sandboxes() {
    if let Err(why) = namespaces_available() {
        println!("SKIPPED namespaces_isolate_sandboxes: namespaces unavailable ({why})");
        return;
    }
    let (router, http) = start_with(RouterOptions {
        isolation: IsolationMode::Namespaces,
        ..fast_opts()
    });
    http.create_running("iso-a");
    http.create_running("iso-b");
    let data = router.data_dir().to_str().unwrap().to_owned();

    assert_eq!(http.exec("iso-a", "hostname")["stdout"], "iso-a\n");
    assert_eq!(http.exec("iso-b", "hostname")["stdout"], "iso-b\n");
    assert_eq!(http.exec("iso-a", "pwd")["stdout"], "/workspace\n");

    // /workspace is the sandbox's own directory on the host.
    assert_eq!(http.exec("iso-a", "echo secret-a > /workspace/f")["exitCode"], 0);
    let host_file = router.data_dir().join("sandboxes/iso-a/f");
    assert_eq!(std::fs::read_to_string(host_file).unwrap(), "secret-a\n");

    // Another sandbox sees neither it at /workspace nor through the host path.
    let j = http.exec("iso-b", "cat /workspace/f");
    assert_ne!(j["exitCode"], 0);
    let j = http.exec("iso-b", &format!("cat {data}/sandboxes/iso-a/f"));
    assert_ne!(j["exitCode"], 0, "{j}");
    assert_eq!(http.exec("iso-b", &format!("ls -A {data}"))["stdout"], "");

    // Own PID namespace: only the sandbox's processes are visible.
    let j = http.exec("iso-a", "ls /proc | grep -c '^[0-9]'");
    let n: u32 = j["stdout"].as_str().unwrap().trim().parse().unwrap();
    assert!(n < 10, "{n} processes visible");
    // Own PID, IPC and UTS namespaces, differing from the host's: the command itself is inside.
    for ns in ["pid", "ipc", "uts", "mnt"] {
        let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        let j = http.exec("iso-a", &format!("readlink /proc/self/ns/{ns}"));
        assert_ne!(j["stdout"].as_str().unwrap().trim(), host.to_str().unwrap(), "{ns}");
    }
    let j = http.exec("iso-a", "echo $$");
    let pid: u32 = j["stdout"].as_str().unwrap().trim().parse().unwrap();
    assert!(pid < 100, "the shell is pid {pid} of the sandbox's namespace");
    // The command's own exit status comes back through the namespace join.
    assert_eq!(http.exec("iso-a", "exit 7")["exitCode"], 7);
}

#[test]
fn plain_processes_without_isolation() {
    let (router, http) = start_with(RouterOptions {
        isolation: IsolationMode::None,
        ..fast_opts()
    });
    http.create_running("plain");
    let dir = router.data_dir().join("sandboxes/plain");
    let j = http.exec("plain", "pwd -P; echo \"$WORKSPACE\"; echo x > f");
    let expected = format!("{}\n{}\n", dir.display(), dir.display());
    assert_eq!(j["stdout"], expected);
    assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "x\n");
}
