//! SQLite persistence (WAL). Every mutation is written through here before it is answered, so a
//! router killed with `kill -9` restarts with every sandbox, key, port and policy intact. Reads
//! are served from memory by the other modules; this module is only touched on writes, on
//! start-up, and for API keys the server has not seen yet.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::errors::RouterError;
use crate::sandbox::record::{Owner, Phase, SandboxRecord};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    sub TEXT NOT NULL,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    admin INTEGER NOT NULL,
    groups TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS sandboxes (
    name TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    template TEXT NOT NULL,
    mode TEXT NOT NULL,
    phase TEXT NOT NULL,
    message TEXT NOT NULL,
    owner_sub TEXT NOT NULL,
    owner_email TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_activity_at INTEGER,
    started_at INTEGER,
    timeout_ms INTEGER,
    idle_timeout_ms INTEGER,
    storage_size TEXT,
    holder_pid INTEGER,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS ports (
    sandbox TEXT NOT NULL,
    port INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    PRIMARY KEY (sandbox, port)
);
CREATE TABLE IF NOT EXISTS policies (
    scope TEXT PRIMARY KEY,
    policy TEXT NOT NULL
);
";

/// A stored API key (never the secret, only its SHA-256).
#[derive(Debug, Clone)]
pub(crate) struct KeyRow {
    pub id: String,
    pub name: String,
    pub sub: String,
    pub email: String,
    pub display_name: String,
    pub admin: bool,
    pub groups: Vec<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// The state database.
pub(crate) struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/router.db`.
    pub(crate) fn open(data_dir: &Path) -> Result<Store, RouterError> {
        std::fs::create_dir_all(data_dir)?;
        let conn = Connection::open(data_dir.join("router.db"))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL is durable across a process crash (kill -9); only power loss may drop the tail.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- API keys -------------------------------------------------------------------------

    pub(crate) fn insert_key(&self, hash: &str, row: &KeyRow) -> Result<(), RouterError> {
        self.conn().execute(
            "INSERT INTO api_keys (id, hash, name, sub, email, display_name, admin, groups, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                row.id,
                hash,
                row.name,
                row.sub,
                row.email,
                row.display_name,
                row.admin,
                serde_json::to_string(&row.groups).unwrap_or_else(|_| "[]".into()),
                row.created_at
            ],
        )?;
        Ok(())
    }

    fn key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
        let groups: String = r.get(6)?;
        Ok(KeyRow {
            id: r.get(0)?,
            name: r.get(1)?,
            sub: r.get(2)?,
            email: r.get(3)?,
            display_name: r.get(4)?,
            admin: r.get(5)?,
            groups: serde_json::from_str(&groups).unwrap_or_default(),
            created_at: r.get(7)?,
            revoked_at: r.get(8)?,
        })
    }

    const KEY_COLS: &'static str = "id, name, sub, email, display_name, admin, groups, created_at, revoked_at";

    /// The live (not revoked) key with this hash.
    pub(crate) fn find_key(&self, hash: &str) -> Result<Option<KeyRow>, RouterError> {
        let sql = format!(
            "SELECT {} FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL",
            Self::KEY_COLS
        );
        Ok(self
            .conn()
            .query_row(&sql, params![hash], Self::key_from_row)
            .optional()?)
    }

    pub(crate) fn list_keys(&self) -> Result<Vec<KeyRow>, RouterError> {
        let sql = format!("SELECT {} FROM api_keys ORDER BY created_at, id", Self::KEY_COLS);
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], Self::key_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks a key revoked; false when no live key has this id.
    pub(crate) fn revoke_key(&self, id: &str, now: i64) -> Result<bool, RouterError> {
        let n = self.conn().execute(
            "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now],
        )?;
        Ok(n > 0)
    }

    // ---- sandboxes ------------------------------------------------------------------------

    pub(crate) fn save_sandbox(&self, s: &SandboxRecord) -> Result<(), RouterError> {
        self.conn().execute(
            "INSERT INTO sandboxes (name, namespace, template, mode, phase, message, owner_sub,
                owner_email, owner_name, created_at, last_activity_at, started_at, timeout_ms,
                idle_timeout_ms, storage_size, extra)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT(name) DO UPDATE SET namespace = ?2, template = ?3, mode = ?4, phase = ?5,
                message = ?6, owner_sub = ?7, owner_email = ?8, owner_name = ?9, created_at = ?10,
                last_activity_at = ?11, started_at = ?12, timeout_ms = ?13, idle_timeout_ms = ?14,
                storage_size = ?15, extra = ?16",
            params![
                s.name,
                s.namespace,
                s.template,
                s.mode,
                s.phase.as_str(),
                s.message,
                s.owner.sub,
                s.owner.email,
                s.owner.name,
                s.created_at,
                s.last_activity_at,
                s.started_at,
                s.timeout.map(|d| d.as_millis() as i64),
                s.idle_timeout.map(|d| d.as_millis() as i64),
                s.storage_size,
                serde_json::Value::Object(s.extra.clone()).to_string(),
            ],
        )?;
        Ok(())
    }

    /// Removes a sandbox and its ports.
    pub(crate) fn delete_sandbox(&self, name: &str) -> Result<(), RouterError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM sandboxes WHERE name = ?1", params![name])?;
        tx.execute("DELETE FROM ports WHERE sandbox = ?1", params![name])?;
        tx.commit()?;
        Ok(())
    }

    /// Remembers the host pid of a sandbox's namespace holder, so a restarted router can end
    /// processes a killed one left behind.
    pub(crate) fn set_holder_pid(&self, name: &str, pid: Option<i32>) -> Result<(), RouterError> {
        self.conn().execute(
            "UPDATE sandboxes SET holder_pid = ?2 WHERE name = ?1",
            params![name, pid],
        )?;
        Ok(())
    }

    /// All sandboxes with their last recorded holder pid.
    pub(crate) fn load_sandboxes(&self) -> Result<Vec<(SandboxRecord, Option<i32>)>, RouterError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT name, namespace, template, mode, phase, message, owner_sub, owner_email,
                owner_name, created_at, last_activity_at, started_at, timeout_ms, idle_timeout_ms,
                storage_size, extra, holder_pid FROM sandboxes ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            let phase: String = r.get(4)?;
            let timeout: Option<i64> = r.get(12)?;
            let idle: Option<i64> = r.get(13)?;
            let extra: String = r.get(15)?;
            let ms = |v: Option<i64>| v.map(|m| Duration::from_millis(m.max(0) as u64));
            Ok((
                SandboxRecord {
                    name: r.get(0)?,
                    namespace: r.get(1)?,
                    template: r.get(2)?,
                    mode: r.get(3)?,
                    phase: Phase::parse(&phase),
                    message: r.get(5)?,
                    owner: Owner {
                        sub: r.get(6)?,
                        email: r.get(7)?,
                        name: r.get(8)?,
                    },
                    created_at: r.get(9)?,
                    last_activity_at: r.get(10)?,
                    started_at: r.get(11)?,
                    timeout: ms(timeout),
                    idle_timeout: ms(idle),
                    storage_size: r.get(14)?,
                    extra: serde_json::from_str(&extra).unwrap_or_default(),
                },
                r.get::<_, Option<i32>>(16)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- ports ----------------------------------------------------------------------------

    pub(crate) fn save_port(&self, sandbox: &str, port: u16, protocol: &str) -> Result<(), RouterError> {
        self.conn().execute(
            "INSERT INTO ports (sandbox, port, protocol) VALUES (?1, ?2, ?3)
             ON CONFLICT(sandbox, port) DO UPDATE SET protocol = ?3",
            params![sandbox, port, protocol],
        )?;
        Ok(())
    }

    pub(crate) fn delete_port(&self, sandbox: &str, port: u16) -> Result<(), RouterError> {
        self.conn().execute(
            "DELETE FROM ports WHERE sandbox = ?1 AND port = ?2",
            params![sandbox, port],
        )?;
        Ok(())
    }

    pub(crate) fn load_ports(&self) -> Result<Vec<(String, u16, String)>, RouterError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT sandbox, port, protocol FROM ports ORDER BY sandbox, port")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- governance policies --------------------------------------------------------------

    /// Replaces every stored policy (scope `__cluster__` or a namespace → policy JSON).
    pub(crate) fn save_policies(&self, entries: &[(String, String)]) -> Result<(), RouterError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM policies", [])?;
        for (scope, policy) in entries {
            tx.execute(
                "INSERT INTO policies (scope, policy) VALUES (?1, ?2)",
                params![scope, policy],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn load_policies(&self) -> Result<Vec<(String, String)>, RouterError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT scope, policy FROM policies ORDER BY scope")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
