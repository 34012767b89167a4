//! A second user's escape attempts (issue 20), each performed from inside a sandbox through exec
//! with an ordinary (non-admin) API key, and each refused with nothing read or written outside:
//! unmounting, remounting and mounting, `/proc/1/root`, `/proc/<router pid>`, `nsenter`,
//! writing the host's `/etc`, reading another workspace or the router's data, ptrace, a fork
//! bomb, a memory hog, processes that leave their session, symlinks out of the workspace through
//! the files API, and special files. Root on Linux only (the namespaced sandbox).

use std::time::{Duration, Instant};

use agenttier_router::{IsolationMode, LocalRouter, RouterOptions};

use super::common::*;

fn isolated() -> Option<(LocalRouter, Http)> {
    if let Err(why) = namespaces_available() {
        println!("SKIPPED: namespaces unavailable ({why})");
        return None;
    }
    Some(start_with(RouterOptions {
        isolation: IsolationMode::Namespaces,
        ..fast_opts()
    }))
}

/// `sh -c` output of a command that must fail: its exit code is not 0.
fn refused(http: &Http, sandbox: &str, command: &str) -> String {
    let j = http.exec(sandbox, command);
    assert_ne!(j["exitCode"], 0, "{command:?} succeeded: {j}");
    format!("{}{}", j["stdout"].as_str().unwrap(), j["stderr"].as_str().unwrap())
}

#[test]
fn a_second_user_cannot_escape_to_the_host_or_another_sandbox() {
    let Some((router, admin)) = isolated() else { return };
    let alice = admin.with_key(&router.create_key("alice", false, &[]).unwrap());
    let bob = admin.with_key(&router.create_key("bob", false, &[]).unwrap());
    bob.create_running("bobs");
    bob.exec("bobs", "echo bob-secret-content > /workspace/secret.txt");
    alice.create_running("alices");
    let data = router.data_dir().to_str().unwrap().to_owned();
    let router_pid = std::process::id();

    // Root inside, an unprivileged uid outside, without the capabilities a pod lacks.
    let j = alice.exec(
        "alices",
        "id -u; id -g; cat /proc/self/uid_map; grep CapBnd /proc/self/status; grep NoNewPrivs /proc/self/status",
    );
    let out = j["stdout"].as_str().unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["0", "0"], "{out}");
    let map: Vec<u64> = lines[2].split_whitespace().map(|n| n.parse().unwrap()).collect();
    assert_eq!(map[0], 0);
    assert!(map[1] >= 1 << 30, "root inside maps to host uid {}", map[1]);
    let bounding = u64::from_str_radix(lines[3].split_whitespace().nth(1).unwrap(), 16).unwrap();
    for cap in [
        21u32, /* SYS_ADMIN */
        19,    /* SYS_PTRACE */
        16,    /* SYS_MODULE */
        12,    /* NET_ADMIN */
    ] {
        assert_eq!(bounding & (1 << cap), 0, "capability {cap} kept: {out}");
    }
    assert!(lines[4].ends_with('1'), "{out}");
    // The host sees the same: the command's process runs as that uid.
    let marker = sleep_marker(71);
    alice.exec("alices", &format!("sleep {marker} >/dev/null 2>&1 &"));
    let pids = processes_matching(&["sleep", &marker]);
    assert_eq!(pids.len(), 1);
    let status = std::fs::read_to_string(format!("/proc/{}/status", pids[0])).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uid_line
            .split_whitespace()
            .skip(1)
            .all(|u| u.parse::<u64>().unwrap() == map[1]),
        "{uid_line}"
    );

    // Unmount anything (the old attack unmounted the tmpfs that hid the data directory), also
    // from a nested user namespace, remount read-write, mount something new.
    refused(&alice, "alices", "umount -l /workspace");
    refused(&alice, "alices", "umount -l /usr");
    refused(&alice, "alices", "umount -l /proc");
    refused(&alice, "alices", "mount -o remount,rw /");
    refused(&alice, "alices", "mount -o remount,rw /etc");
    refused(&alice, "alices", "mount -t tmpfs x /tmp");
    refused(&alice, "alices", "mount -t proc proc /tmp");
    refused(
        &alice,
        "alices",
        "unshare -rm sh -c 'umount -l /workspace || umount -l /usr || umount -l /; exit 1'",
    );
    refused(
        &alice,
        "alices",
        "unshare -rm sh -c 'mount -o remount,rw /usr && touch /usr/agenttier-escape'",
    );
    let every_mount = "for m in $(awk '{print $2}' /proc/mounts | sort -r); do umount -l \"$m\" 2>/dev/null && echo UNMOUNTED $m; done; true";
    let j = alice.exec("alices", every_mount);
    assert!(!j["stdout"].as_str().unwrap().contains("UNMOUNTED"), "{j}");

    // Nothing of the router or other sandboxes is in view, by any path.
    let out = refused(&alice, "alices", &format!("ls -A {data}"));
    assert!(!out.contains("router.db"), "{out}");
    let out = refused(&alice, "alices", &format!("cat {data}/sandboxes/bobs/secret.txt"));
    assert!(!out.contains("bob-secret"), "{out}");
    let j = alice.exec(
        "alices",
        "find / -xdev -name secret.txt 2>/dev/null; find / -xdev -name 'router.db*' 2>/dev/null; ls -A /root /home /run /sys 2>&1; true",
    );
    let out = j["stdout"].as_str().unwrap();
    assert!(!out.contains("secret.txt") && !out.contains("router.db"), "{out}");
    assert_eq!(out.matches("No such file or directory").count(), 4, "{out}");

    // /proc/1 is the sandbox's init: host root outside the user namespace, out of reach.
    let out = refused(&alice, "alices", "ls /proc/1/root/");
    assert!(out.contains("ermission denied"), "{out}");
    refused(&alice, "alices", &format!("cat /proc/1/root{data}/router.db"));
    refused(&alice, "alices", "cat /proc/1/environ");
    refused(&alice, "alices", "head -c 1 /proc/1/mem");
    // The router's own process is not even visible.
    refused(&alice, "alices", &format!("ls /proc/{router_pid}/root/"));
    refused(&alice, "alices", &format!("cat /proc/{router_pid}/environ"));

    // nsenter into anything outside.
    refused(&alice, "alices", "nsenter -t 1 -m -u -i -p true");
    refused(&alice, "alices", "nsenter --mount=/proc/1/ns/mnt true");
    refused(&alice, "alices", &format!("nsenter -t {router_pid} -m true"));

    // ptrace the init (the router's pid does not exist here).
    let out = refused(
        &alice,
        "alices",
        "python3 -c 'import ctypes,sys; r=ctypes.CDLL(None).ptrace(16,1,0,0); sys.exit(0 if r==0 else 1)' \
         || perl -e 'exit(syscall(101,16,1,0,0)==0?0:1)'",
    );
    assert!(!out.contains("Traceback"), "{out}");
    if std::path::Path::new("/usr/bin/strace").exists() {
        let j = alice.exec("alices", "timeout 2 strace -p 1 2>&1; true");
        assert!(j["stdout"].as_str().unwrap().contains("Operation not permitted"), "{j}");
    }

    // The host's /etc and system directories cannot be written.
    refused(&alice, "alices", "echo 'x::0:0::/:/bin/sh' >> /etc/passwd");
    refused(&alice, "alices", "touch /etc/agenttier-escape");
    refused(&alice, "alices", "touch /usr/agenttier-escape");
    refused(&alice, "alices", "touch /agenttier-escape");
    assert!(!std::path::Path::new("/etc/agenttier-escape").exists());
    assert!(!std::path::Path::new("/usr/agenttier-escape").exists());
    assert!(
        !std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .contains("x::0:0::/:/bin/sh")
    );

    // The sandbox's own places work: /workspace, /tmp, /dev/null.
    let j = alice.exec(
        "alices",
        "echo a > /workspace/own && echo b > /tmp/t && cat /workspace/own /tmp/t && echo c > /dev/null && hostname",
    );
    assert_eq!(j["stdout"], "a\nb\nalices\n", "{j}");
    // Bob's file is untouched and still his.
    assert_eq!(
        bob.exec("bobs", "cat /workspace/secret.txt")["stdout"],
        "bob-secret-content\n"
    );
}

#[test]
fn stop_and_delete_kill_everything_and_leave_nothing_behind() {
    let Some((router, admin)) = isolated() else { return };
    let alice = admin.with_key(&router.create_key("alice", false, &[]).unwrap());
    alice.create_running("leaver");
    let marker = sleep_marker(72);
    // A double fork into a new session, out of the command's process group.
    alice.exec(
        "leaver",
        &format!("setsid sh -c 'sleep {marker} & sleep {marker} &' >/dev/null 2>&1 </dev/null"),
    );
    wait_for("both to start", || processes_matching(&["sleep", &marker]).len() == 2);
    let cgroups = cgroup_dirs(router.data_dir());
    assert!(!cgroups.is_empty() || !std::path::Path::new("/sys/fs/cgroup/pids").exists());
    assert_eq!(alice.post_empty("/api/v1/sandboxes/leaver/stop").status, 200);
    wait_for("processes to end", || {
        processes_matching(&["sleep", &marker]).is_empty()
    });
    wait_for("cgroups to be removed", || cgroups.iter().all(|d| !d.exists()));

    assert_eq!(alice.post_empty("/api/v1/sandboxes/leaver/resume").status, 200);
    alice.wait_phase("leaver", "Running");
    alice.exec(
        "leaver",
        &format!("setsid sh -c 'sleep {marker} &' >/dev/null 2>&1 </dev/null"),
    );
    wait_for("it to start", || processes_matching(&["sleep", &marker]).len() == 1);
    let cgroups = cgroup_dirs(router.data_dir());
    assert_eq!(alice.delete("/api/v1/sandboxes/leaver").status, 204);
    wait_for("processes to end", || {
        processes_matching(&["sleep", &marker]).is_empty()
    });
    wait_for("cgroups to be removed", || cgroups.iter().all(|d| !d.exists()));
    // No mount of the sandbox is left on the host.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(router.data_dir().to_str().unwrap()), "{mounts}");
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fork_bombs_and_memory_hogs_are_contained() {
    let Some((router, admin)) = isolated() else { return };
    if !std::path::Path::new("/sys/fs/cgroup/pids/cgroup.procs").exists()
        && !std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
    {
        println!("SKIPPED: no pids cgroup controller");
        return;
    }
    let alice = admin.with_key(&router.create_key("alice", false, &[]).unwrap());
    alice.create_running("bomber");
    alice.create_running("neighbour");
    // A small memory limit, applied on restart (as on the platform).
    let limits = r#"{"resources":{"limits":{"memory":"64Mi","cpu":"500m"}}}"#;
    let r = alice.send("PATCH", "/api/v1/sandboxes/bomber", Some(limits), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(alice.post_empty("/api/v1/sandboxes/bomber/stop").status, 200);
    assert_eq!(alice.post_empty("/api/v1/sandboxes/bomber/resume").status, 200);
    alice.wait_phase("bomber", "Running");

    // The memory hog is killed inside its sandbox; the sandbox lives on.
    let j = alice.exec_timeout("bomber", "tail /dev/zero", 30);
    assert_ne!(j["exitCode"], 0, "{j}");
    assert_eq!(alice.exec("bomber", "echo alive")["stdout"], "alive\n");

    // The fork bomb runs into the pids and the 64 MiB memory limits (about 500 shells at once),
    // keeping its memory cgroup in OOM handling and its CPU quota spent; meanwhile the router,
    // the neighbour and a sandbox started during the bomb answer. (Commands join their cgroups
    // without the kernel's cgroup-wide threadgroup lock, which a process stuck in the bomb would
    // hold them all up on: RELIABILITY.md.)
    let bomb = std::thread::spawn({
        let alice = alice.clone();
        move || alice.exec_timeout("bomber", "b() { b | b & }; b; sleep 60", 4)
    });
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    assert_eq!(alice.exec("neighbour", "echo fine")["stdout"], "fine\n");
    assert_eq!(alice.get("/api/v1/sandboxes").status, 200);
    alice.create_running("latecomer");
    assert_eq!(alice.exec("latecomer", "echo new")["stdout"], "new\n");
    // A second router starts too: its scan for leftover holders never reads the bomb's
    // processes (reading a command line waits for the process's memory-map lock, which a process
    // stuck at its limits holds).
    let (_second, second) = isolated().expect("namespaces were available a moment ago");
    assert_eq!(second.get("/api/v1/sandboxes").status, 200);
    println!(
        "neighbour, a new sandbox and a new router answered in {:?} during the fork bomb",
        started.elapsed()
    );
    // The bomb's exec answers: at its timeout (-1, the group killed), or earlier when its shell
    // could not fork `sleep` (the bomb's processes then run on, as background processes do).
    let j = bomb.join().expect("the bomb's exec answered");
    assert!(j["exitCode"].is_i64(), "{j}");
    // Killed processes must still run to exit, and the bomb's sandbox has spent its CPU quota:
    // its own next commands may wait for them. Stop lifts the quota and ends every process of
    // the bomb at once; the sandbox then resumes as new.
    assert_eq!(alice.post_empty("/api/v1/sandboxes/bomber/stop").status, 200);
    assert_eq!(alice.exec("neighbour", "echo fine")["stdout"], "fine\n");
    assert_eq!(alice.post_empty("/api/v1/sandboxes/bomber/resume").status, 200);
    alice.wait_phase("bomber", "Running");
    assert_eq!(alice.exec("bomber", "echo alive")["stdout"], "alive\n");
}

#[test]
fn files_api_never_leaves_the_workspace_nor_opens_special_files() {
    let Some((router, admin)) = isolated() else { return };
    let alice = admin.with_key(&router.create_key("alice", false, &[]).unwrap());
    alice.create_running("links");
    alice.exec(
        "links",
        "ln -s /etc evil; ln -s nothere/../evil a; mkdir d; ln -s ../../.. d/up; mkfifo fifo; \
         python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")' || true",
    );
    for path in ["a/passwd", "evil/passwd", "d/up/etc/passwd", "a/../evil/passwd"] {
        let r = alice.get(&format!("/api/v1/sandboxes/links/files/workspace/{path}"));
        assert_ne!(r.status, 200, "{path}: {}", r.body);
        assert!(!r.body.contains("root:"), "{path}: {}", r.body);
    }
    let r = alice.get("/api/v1/sandboxes/links/files/workspace/evil/passwd");
    assert_eq!(r.status, 400, "{}", r.body);
    let r = alice.get("/api/v1/sandboxes/links/files/?path=/workspace/evil");
    assert_eq!(r.status, 400, "{}", r.body);
    let r = alice.get("/api/v1/sandboxes/links/archive?path=/workspace/a");
    assert_ne!(r.status, 200, "{}", r.body);
    let r = alice.send(
        "PUT",
        "/api/v1/sandboxes/links/files/workspace/evil/agenttier-escape",
        Some("x"),
        &[],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(!std::path::Path::new("/etc/agenttier-escape").exists());

    // Special files: a clear 400 at once, never a blocked thread.
    for special in ["fifo", "sock"] {
        if special == "sock" && !router.data_dir().join("sandboxes/links/sock").exists() {
            continue;
        }
        let started = Instant::now();
        let r = alice.get(&format!("/api/v1/sandboxes/links/files/workspace/{special}"));
        assert_eq!(r.status, 400, "{special}: {}", r.body);
        assert!(r.body.contains("FIFO, socket or device"), "{}", r.body);
        let r = alice.send(
            "PUT",
            &format!("/api/v1/sandboxes/links/files/workspace/{special}"),
            Some("x"),
            &[],
        );
        assert_eq!(r.status, 400, "{special}: {}", r.body);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    // An archive skips them and completes.
    let r = alice.get("/api/v1/sandboxes/links/archive?path=/workspace");
    assert_eq!(r.status, 200);
    // Files the router writes belong to the sandbox's root: the sandbox can change them.
    let r = alice.send(
        "PUT",
        "/api/v1/sandboxes/links/files/workspace/new/dir/up.txt",
        Some("hi"),
        &[],
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let j = alice.exec(
        "links",
        "stat -c %u:%g new new/dir new/dir/up.txt && echo more >> new/dir/up.txt && rm -r new",
    );
    assert_eq!(j["stdout"], "0:0\n0:0\n0:0\n", "{j}");
    assert_eq!(j["exitCode"], 0, "{j}");
}

#[test]
fn dev_auth_is_refused_to_sandbox_processes() {
    if let Err(why) = namespaces_available() {
        println!("SKIPPED: namespaces unavailable ({why})");
        return;
    }
    let router = LocalRouter::start(RouterOptions {
        isolation: IsolationMode::Namespaces,
        dev_auth: true,
        ..fast_opts()
    })
    .unwrap();
    let http = Http::new(router.url(), None);
    http.create_running("inside");
    // From the host, dev-auth works; from inside a sandbox, it is refused.
    assert_eq!(http.get("/api/v1/sandboxes").status, 200);
    let url = format!("{}/api/v1/sandboxes", router.url());
    let j = http.exec(
        "inside",
        &format!("curl -s -o /dev/null -w '%{{http_code}}' {url} || python3 -c 'import urllib.request,urllib.error\ntry: urllib.request.urlopen(\"{url}\")\nexcept urllib.error.HTTPError as e: print(e.code)'"),
    );
    let out = j["stdout"].as_str().unwrap();
    assert!(out.starts_with("401") || out.starts_with("403"), "{j}");
    let j = http.exec("inside", &format!("curl -s {url}"));
    assert!(j["stdout"].as_str().unwrap().contains("sandbox"), "{j}");
}

#[test]
fn clones_copy_links_as_links_skip_special_files_and_change_owner() {
    let Some((router, admin)) = isolated() else { return };
    let alice = admin.with_key(&router.create_key("alice", false, &[]).unwrap());
    alice.create_running("origin");
    alice.exec(
        "origin",
        "echo mine > f; ln -s /etc/passwd link; mkfifo fifo; mkdir d; echo deep > d/g; chown 1000:1000 d/g",
    );
    let r = alice.post("/api/v1/sandboxes/origin/clone", r#"{"name":"copy"}"#);
    assert_eq!(r.status, 202, "{}", r.body);
    alice.wait_phase("copy", "Running");
    let j = alice.exec(
        "copy",
        "readlink link; cat f d/g; test -e fifo || echo no-fifo; stat -c %u:%g f d d/g; echo more >> f && echo writable",
    );
    assert_eq!(
        j["stdout"], "/etc/passwd\nmine\ndeep\nno-fifo\n0:0\n0:0\n1000:1000\nwritable\n",
        "{j}"
    );
    // Each sandbox has its own host uids: the copy's files are not the origin's.
    let uid = |name: &str| {
        let j = alice.exec(name, "cat /proc/self/uid_map");
        j["stdout"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    assert_ne!(uid("origin"), uid("copy"));
}

#[test]
fn plain_mode_still_kills_every_process_of_a_sandbox() {
    let (router, admin) = start_with(RouterOptions {
        isolation: IsolationMode::None,
        ..fast_opts()
    });
    admin.create_running("plainly");
    let marker = sleep_marker(73);
    admin.exec(
        "plainly",
        &format!("setsid sh -c 'sleep {marker} & sleep {marker} &' >/dev/null 2>&1 </dev/null"),
    );
    wait_for("both to start", || processes_matching(&["sleep", &marker]).len() == 2);
    assert_eq!(admin.post_empty("/api/v1/sandboxes/plainly/stop").status, 200);
    wait_for("processes to end", || {
        processes_matching(&["sleep", &marker]).is_empty()
    });
    // And at shutdown.
    assert_eq!(admin.post_empty("/api/v1/sandboxes/plainly/resume").status, 200);
    admin.wait_phase("plainly", "Running");
    admin.exec(
        "plainly",
        &format!("setsid sh -c 'sleep {marker} &' >/dev/null 2>&1 </dev/null"),
    );
    wait_for("it to start", || processes_matching(&["sleep", &marker]).len() == 1);
    router.shutdown();
    wait_for("processes to end", || {
        processes_matching(&["sleep", &marker]).is_empty()
    });
}

/// The cgroup directories (every hierarchy) of the sandbox named `name`: `<name>-<random>` under
/// this router's parent cgroup.
fn cgroups_named(name: &str) -> Vec<std::path::PathBuf> {
    let prefix = format!("{name}-");
    [
        "/sys/fs/cgroup/pids",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/cpu",
        "/sys/fs/cgroup",
    ]
    .iter()
    .filter_map(|root| std::fs::read_dir(std::path::Path::new(root).join("agenttier")).ok())
    .flat_map(|tags| tags.flatten())
    .filter_map(|tag| std::fs::read_dir(tag.path()).ok())
    .flat_map(|leaves| leaves.flatten())
    .filter(|leaf| leaf.file_name().to_string_lossy().starts_with(&prefix))
    .map(|leaf| leaf.path())
    .collect()
}

#[test]
fn a_router_that_shuts_down_leaves_no_cgroup_behind() {
    let Some((router, admin)) = isolated() else { return };
    let name = format!("cgleak{}", std::process::id());
    admin.create_running(&name);
    admin.exec(&name, "sleep 1000 >/dev/null 2>&1 &");
    let leaves = cgroups_named(&name);
    if leaves.is_empty() {
        println!("SKIPPED: the router makes no cgroups here");
        return;
    }
    // Stopped sandboxes' cgroups go too, not only Running ones'.
    let other = format!("stopped{}", std::process::id());
    admin.create_running(&other);
    let stopped = cgroups_named(&other);
    assert_eq!(admin.post_empty(&format!("/api/v1/sandboxes/{other}/stop")).status, 200);
    drop(router);
    for dir in leaves.iter().chain(&stopped) {
        assert!(!dir.exists(), "{} left behind", dir.display());
        let parent = dir.parent().unwrap();
        assert!(
            !parent.exists(),
            "the router's parent cgroup {} left behind",
            parent.display()
        );
    }
}

/// The sandbox's spawner (root of the sandbox's user namespace, like its commands) stands outside
/// the sandbox's PID namespace: nothing inside sees it, signals it or reads its memory, so no
/// command can take over how the next one starts.
#[test]
fn the_spawner_is_out_of_the_sandboxs_reach() {
    let Some((router, admin)) = isolated() else { return };
    let user = admin.with_key(&router.create_key("mallory", false, &[]).unwrap());
    user.create_running("reach");
    let dir = router.data_dir().join("sandboxes").join("reach");
    let spawner = spawners_of(&dir);
    assert_eq!(spawner.len(), 1, "{spawner:?}");
    // Every process the sandbox can see: none is the spawner.
    let names = user.exec("reach", "cat /proc/[0-9]*/comm");
    assert!(!names["stdout"].as_str().unwrap().contains("agenttier"), "{names}");
    // Its host pid means nothing inside; everything the sandbox may signal is killed.
    let pid = spawner[0];
    refused(
        &user,
        "reach",
        &format!("kill -9 {pid} || cat /proc/{pid}/mem >/dev/null"),
    );
    user.exec("reach", "kill -9 -1; true");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(spawners_of(&dir), spawner, "the spawner survived, untouched");
    assert_eq!(user.exec("reach", "echo still")["stdout"], "still\n");
}
