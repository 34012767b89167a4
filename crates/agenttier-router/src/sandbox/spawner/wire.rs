//! The messages between the router and a sandbox's spawner ([`super`]), one per `SOCK_SEQPACKET`
//! packet: a kind byte, then fixed-width little-endian integers and length-prefixed byte strings.
//! Descriptors travel beside them (`SCM_RIGHTS`).

/// Largest packet either side sends: a command line and its environment (the kernel takes at
/// most 128 KiB per argument or variable anyway).
pub(crate) const MAX_PACKET: usize = 1 << 20;

/// What the router asks of a spawner.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Request {
    /// First packet: confine yourself. Carries the cgroup join files (`cgroups` of them), then,
    /// when `namespaced`, the namespaces to join: PID (for children), UTS, IPC, mount, user.
    Setup {
        cwd: Vec<u8>,
        cgroups: u32,
        namespaced: bool,
    },
    /// Start `argv` with exactly `env`, on the three descriptors that come with it.
    Spawn {
        token: u64,
        argv: Vec<Vec<u8>>,
        env: Vec<Vec<u8>>,
    },
}

/// What a spawner answers.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Reply {
    /// Confined; spawns may follow.
    Ready,
    /// A request failed with `errno` (token 0: the setup).
    Refused { token: u64, errno: i32 },
    /// The command of `token` runs as host pid `pid`, leader of its own process group.
    Spawned { token: u64, pid: i32 },
    /// Process `pid` ended with the raw wait status `status` (and was reaped).
    Exited { pid: i32, status: i32 },
}

const SETUP: u8 = 1;
const SPAWN: u8 = 2;
const READY: u8 = 3;
const REFUSED: u8 = 4;
const SPAWNED: u8 = 5;
const EXITED: u8 = 6;

impl Request {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Request::Setup {
                cwd,
                cgroups,
                namespaced,
            } => {
                out.push(SETUP);
                put_bytes(&mut out, cwd);
                out.extend_from_slice(&cgroups.to_le_bytes());
                out.push(u8::from(*namespaced));
            }
            Request::Spawn { token, argv, env } => return spawn_packet(*token, argv, env),
        }
        out
    }

    pub(crate) fn decode(packet: &[u8]) -> Option<Request> {
        let mut r = Reader(packet);
        let request = match r.u8()? {
            SETUP => Request::Setup {
                cwd: r.bytes()?,
                cgroups: r.u32()?,
                namespaced: r.u8()? != 0,
            },
            SPAWN => {
                let token = r.u64()?;
                let argv = r.list()?;
                let env = r.list()?;
                Request::Spawn { token, argv, env }
            }
            _ => return None,
        };
        r.0.is_empty().then_some(request)
    }
}

impl Reply {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(17);
        match *self {
            Reply::Ready => out.push(READY),
            Reply::Refused { token, errno } => {
                out.push(REFUSED);
                out.extend_from_slice(&token.to_le_bytes());
                out.extend_from_slice(&errno.to_le_bytes());
            }
            Reply::Spawned { token, pid } => {
                out.push(SPAWNED);
                out.extend_from_slice(&token.to_le_bytes());
                out.extend_from_slice(&pid.to_le_bytes());
            }
            Reply::Exited { pid, status } => {
                out.push(EXITED);
                out.extend_from_slice(&pid.to_le_bytes());
                out.extend_from_slice(&status.to_le_bytes());
            }
        }
        out
    }

    pub(crate) fn decode(packet: &[u8]) -> Option<Reply> {
        let mut r = Reader(packet);
        let reply = match r.u8()? {
            READY => Reply::Ready,
            REFUSED => Reply::Refused {
                token: r.u64()?,
                errno: r.u32()? as i32,
            },
            SPAWNED => Reply::Spawned {
                token: r.u64()?,
                pid: r.u32()? as i32,
            },
            EXITED => Reply::Exited {
                pid: r.u32()? as i32,
                status: r.u32()? as i32,
            },
            _ => return None,
        };
        r.0.is_empty().then_some(reply)
    }
}

/// The packet of [`Request::Spawn`], built from borrowed parts.
pub(crate) fn spawn_packet(token: u64, argv: &[Vec<u8>], env: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![SPAWN];
    out.extend_from_slice(&token.to_le_bytes());
    for list in [argv, env] {
        out.extend_from_slice(&(list.len() as u32).to_le_bytes());
        for item in list {
            put_bytes(&mut out, item);
        }
    }
    out
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Reads a packet front to back; `None` once it runs short.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)?.try_into().ok().map(u64::from_le_bytes)
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()? as usize;
        self.take(n).map(<[u8]>::to_vec)
    }

    fn list(&mut self) -> Option<Vec<Vec<u8>>> {
        let n = self.u32()? as usize;
        // Each item takes at least its 4-byte length: a count the packet cannot hold is a lie.
        if n > self.0.len() / 4 {
            return None;
        }
        (0..n).map(|_| self.bytes()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_survive_the_trip() {
        let requests = [
            Request::Setup {
                cwd: b"/workspace".to_vec(),
                cgroups: 3,
                namespaced: true,
            },
            Request::Spawn {
                token: u64::MAX,
                argv: vec![b"/bin/sh".to_vec(), b"-c".to_vec(), b"echo \0odd".to_vec()],
                env: vec![],
            },
        ];
        for r in requests {
            assert_eq!(Request::decode(&r.encode()), Some(r));
        }
        let replies = [
            Reply::Ready,
            Reply::Refused { token: 0, errno: 13 },
            Reply::Spawned {
                token: 7,
                pid: i32::MAX,
            },
            Reply::Exited {
                pid: 42,
                status: 0x0100,
            },
        ];
        for r in replies {
            assert_eq!(Reply::decode(&r.encode()), Some(r));
        }
    }

    #[test]
    fn short_long_or_unknown_packets_are_refused() {
        let spawn = Request::Spawn {
            token: 1,
            argv: vec![b"a".to_vec()],
            env: vec![b"K=V".to_vec()],
        }
        .encode();
        for cut in 0..spawn.len() {
            assert_eq!(Request::decode(&spawn[..cut]), None, "cut at {cut}");
        }
        let mut long = spawn.clone();
        long.push(0);
        assert_eq!(Request::decode(&long), None);
        assert_eq!(Reply::decode(&[99]), None);
        // A list count far beyond what the packet holds.
        let mut huge = vec![SPAWN];
        huge.extend_from_slice(&1u64.to_le_bytes());
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Request::decode(&huge), None);
    }
}
