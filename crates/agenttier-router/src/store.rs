//! SQLite persistence (WAL). Every mutation is written through here before it is answered, so a
//! router killed with `kill -9` restarts with every sandbox, key, port and policy intact. Reads
//! are served from memory by the other modules; this module is only touched on writes, on
//! start-up, and for API keys the server has not seen yet.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rusqlite_migration::{HookResult, M, Migrations};

use crate::errors::RouterError;
use crate::sandbox::record::{Owner, Phase, SandboxRecord};

/// Schema version 1: the tables as the first release made them. `IF NOT EXISTS` because
/// databases from before versioning (`user_version` 0) already hold them.
const SCHEMA_V1: &str = "
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
CREATE TABLE IF NOT EXISTS snapshots (
    name TEXT PRIMARY KEY,
    sandbox TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    sandbox TEXT NOT NULL,
    namespace TEXT NOT NULL,
    template TEXT NOT NULL,
    user_email TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY,
    owner_sub TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// The schema's history, oldest first: `PRAGMA user_version` counts the migrations a database
/// has had. Append new steps (an `ALTER TABLE`, a new table); never edit a released one.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(SCHEMA_V1),
        // Version 2: scoped, expiring keys minted through the API. Before versioning these
        // columns were added when missing, so a version-0 database may have them already.
        M::up_with_hook("", |tx: &Transaction| -> HookResult {
            add_missing_columns(
                tx,
                "api_keys",
                &[("sandbox_id", "TEXT"), ("scopes", "TEXT"), ("expires_at", "INTEGER")],
            )?;
            Ok(())
        }),
    ])
}

fn add_missing_columns(tx: &Transaction, table: &str, columns: &[(&str, &str)]) -> rusqlite::Result<()> {
    let existing: Vec<String> = {
        let mut stmt = tx.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for (col, ty) in columns {
        if !existing.iter().any(|c| c == col) {
            tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {col} {ty}"))?;
        }
    }
    Ok(())
}

/// Brings the database to the latest schema version; one a newer router wrote is refused.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), RouterError> {
    migrations().to_latest(conn).map_err(|e| match e {
        rusqlite_migration::Error::RusqliteError { err, .. } => RouterError::Database(err),
        rusqlite_migration::Error::MigrationDefinition(
            rusqlite_migration::MigrationDefinitionError::DatabaseTooFarAhead,
        ) => RouterError::Config(format!(
            "{} was written by a newer agenttier-router (a later schema version): upgrade this router, or start it with another --data-dir",
            path.display()
        )),
        other => RouterError::Config(format!("cannot migrate {}: {other}", path.display())),
    })
}

/// A workspace snapshot record.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotRow {
    pub name: String,
    pub sandbox: String,
    pub kind: String,
    pub created_at: i64,
    pub size_bytes: i64,
}

/// A recorded audit event.
#[derive(Debug, Clone)]
pub(crate) struct AuditRow {
    pub at_ms: i64,
    pub event_type: String,
    pub sandbox: String,
    pub namespace: String,
    pub template: String,
    pub user_email: String,
    pub reason: String,
}

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
    /// Sandbox a scoped key is bound to.
    pub sandbox_id: Option<String>,
    /// Action groups of a scoped key.
    pub scopes: Vec<String>,
    /// Expiry (unix seconds).
    pub expires_at: Option<i64>,
}

/// The state database.
pub(crate) struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/router.db`.
    /// The directory is made private (`0700`) and the database file `0600`; SQLite gives its
    /// `-wal` and `-shm` files the database's mode. API key hashes and webhook signing secrets
    /// live here.
    pub(crate) fn open(data_dir: &Path) -> Result<Store, RouterError> {
        crate::private::dir(data_dir)?;
        let path = data_dir.join("router.db");
        crate::private::file(&path)?;
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL is durable across a process crash (kill -9); only power loss may drop the tail.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut conn, &path)?;
        Ok(Store { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ---- API keys -------------------------------------------------------------------------

    pub(crate) fn insert_key(&self, hash: &str, row: &KeyRow) -> Result<(), RouterError> {
        self.conn().execute(
            "INSERT INTO api_keys (id, hash, name, sub, email, display_name, admin, groups, created_at,
                sandbox_id, scopes, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                row.id,
                hash,
                row.name,
                row.sub,
                row.email,
                row.display_name,
                row.admin,
                serde_json::to_string(&row.groups).unwrap_or_else(|_| "[]".into()),
                row.created_at,
                row.sandbox_id,
                serde_json::to_string(&row.scopes).unwrap_or_else(|_| "[]".into()),
                row.expires_at
            ],
        )?;
        Ok(())
    }

    fn key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
        let groups: String = r.get(6)?;
        let scopes: Option<String> = r.get(10)?;
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
            sandbox_id: r.get(9)?,
            scopes: scopes.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default(),
            expires_at: r.get(11)?,
        })
    }

    const KEY_COLS: &'static str =
        "id, name, sub, email, display_name, admin, groups, created_at, revoked_at, sandbox_id, scopes, expires_at";

    /// The live (not revoked) key with this hash.
    pub(crate) fn find_key(&self, hash: &str) -> Result<Option<KeyRow>, RouterError> {
        let sql = format!(
            "SELECT {} FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL
                AND (expires_at IS NULL OR expires_at > ?2)",
            Self::KEY_COLS
        );
        Ok(self
            .conn()
            .query_row(&sql, params![hash, crate::gotime::now_unix()], Self::key_from_row)
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
                s.extra_json().to_string(),
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
            let mut rec = SandboxRecord {
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
                ..SandboxRecord::new(
                    &r.get::<_, String>(0)?,
                    &r.get::<_, String>(1)?,
                    &r.get::<_, String>(2)?,
                    &r.get::<_, String>(3)?,
                    &crate::auth::Identity::dev(),
                )
            };
            rec.set_extra_json(serde_json::from_str(&extra).unwrap_or_default());
            Ok((rec, r.get::<_, Option<i32>>(16)?))
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

    // ---- snapshots ------------------------------------------------------------------------

    pub(crate) fn save_snapshot(&self, s: &SnapshotRow) -> Result<(), RouterError> {
        self.conn().execute(
            "INSERT INTO snapshots (name, sandbox, kind, created_at, size_bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![s.name, s.sandbox, s.kind, s.created_at, s.size_bytes],
        )?;
        Ok(())
    }

    fn snapshot_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SnapshotRow> {
        Ok(SnapshotRow {
            name: r.get(0)?,
            sandbox: r.get(1)?,
            kind: r.get(2)?,
            created_at: r.get(3)?,
            size_bytes: r.get(4)?,
        })
    }

    pub(crate) fn snapshot(&self, name: &str) -> Result<Option<SnapshotRow>, RouterError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT name, sandbox, kind, created_at, size_bytes FROM snapshots WHERE name = ?1",
                params![name],
                Self::snapshot_from_row,
            )
            .optional()?)
    }

    pub(crate) fn list_snapshots(&self, sandbox: Option<&str>) -> Result<Vec<SnapshotRow>, RouterError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT name, sandbox, kind, created_at, size_bytes FROM snapshots
             WHERE ?1 IS NULL OR sandbox = ?1 ORDER BY created_at, name",
        )?;
        let rows = stmt.query_map(params![sandbox], Self::snapshot_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn delete_snapshot(&self, name: &str) -> Result<(), RouterError> {
        self.conn()
            .execute("DELETE FROM snapshots WHERE name = ?1", params![name])?;
        Ok(())
    }

    // ---- audit ----------------------------------------------------------------------------

    /// Records an event and drops the oldest beyond the newest `keep` (0 = keep all).
    pub(crate) fn add_audit(&self, a: &AuditRow, keep: usize) -> Result<(), RouterError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO audit_events (at_ms, event_type, sandbox, namespace, template, user_email, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                a.at_ms,
                a.event_type,
                a.sandbox,
                a.namespace,
                a.template,
                a.user_email,
                a.reason
            ],
        )?;
        if keep > 0 {
            // Ids only grow: everything at or below the newest id minus `keep` is older.
            let newest = conn.last_insert_rowid();
            conn.execute("DELETE FROM audit_events WHERE id <= ?1", params![newest - keep as i64])?;
        }
        Ok(())
    }

    /// Every audit event, oldest first.
    pub(crate) fn audit_events(&self) -> Result<Vec<AuditRow>, RouterError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT at_ms, event_type, sandbox, namespace, template, user_email, reason
             FROM audit_events ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AuditRow {
                at_ms: r.get(0)?,
                event_type: r.get(1)?,
                sandbox: r.get(2)?,
                namespace: r.get(3)?,
                template: r.get(4)?,
                user_email: r.get(5)?,
                reason: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- webhooks -------------------------------------------------------------------------

    pub(crate) fn save_webhook(&self, id: &str, owner_sub: &str, doc: &str) -> Result<(), RouterError> {
        self.conn().execute(
            "INSERT INTO webhooks (id, owner_sub, doc) VALUES (?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET owner_sub = ?2, doc = ?3",
            params![id, owner_sub, doc],
        )?;
        Ok(())
    }

    pub(crate) fn delete_webhook(&self, id: &str) -> Result<(), RouterError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM webhooks WHERE id = ?1", params![id])?;
        tx.execute("DELETE FROM deliveries WHERE webhook = ?1", params![id])?;
        tx.commit()?;
        Ok(())
    }

    pub(crate) fn load_webhooks(&self) -> Result<Vec<String>, RouterError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT doc FROM webhooks ORDER BY rowid")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a delivery and keeps only the last `keep` of its webhook.
    pub(crate) fn add_delivery(&self, webhook: &str, doc: &str, keep: usize) -> Result<(), RouterError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO deliveries (webhook, doc) VALUES (?1, ?2)",
            params![webhook, doc],
        )?;
        tx.execute(
            "DELETE FROM deliveries WHERE webhook = ?1 AND id NOT IN
                (SELECT id FROM deliveries WHERE webhook = ?1 ORDER BY id DESC LIMIT ?2)",
            params![webhook, keep as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deliveries of a webhook, oldest first.
    pub(crate) fn deliveries(&self, webhook: &str) -> Result<Vec<String>, RouterError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT doc FROM deliveries WHERE webhook = ?1 ORDER BY id")?;
        let rows = stmt.query_map(params![webhook], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- settings (preferences, warm pool, headroom) --------------------------------------

    pub(crate) fn setting(&self, key: &str) -> Result<Option<String>, RouterError> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", params![key], |r| r.get(0))
            .optional()?)
    }

    pub(crate) fn put_setting(&self, key: &str, value: &str) -> Result<(), RouterError> {
        self.conn().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
            params![key, value],
        )?;
        Ok(())
    }

    /// Every setting whose key starts with `prefix`, in key order.
    pub(crate) fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>, RouterError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT key, value FROM settings WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")?;
        let rows = stmt.query_map(params![prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn delete_setting(&self, key: &str) -> Result<(), RouterError> {
        self.conn()
            .execute("DELETE FROM settings WHERE key = ?1", params![key])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database as the router wrote it before versioning: schema 1 without the key columns
    /// added later, `user_version` 0, one key and one setting.
    fn unversioned_database(dir: &Path) {
        let conn = Connection::open(dir.join("router.db")).unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        conn.execute(
            "INSERT INTO api_keys (id, hash, name, sub, email, display_name, admin, groups, created_at)
             VALUES ('k1', 'h1', 'old', 'sub', 'a@b', 'A', 1, '[]', 7)",
            [],
        )
        .unwrap();
        conn.execute("INSERT INTO settings (key, value) VALUES ('s', 'kept')", [])
            .unwrap();
    }

    fn user_version(dir: &Path) -> i64 {
        Connection::open(dir.join("router.db"))
            .unwrap()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_database_of_the_previous_schema_is_migrated_in_place() {
        let dir = tempfile::tempdir().unwrap();
        unversioned_database(dir.path());
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(user_version(dir.path()), 2);
        let old = store.find_key("h1").unwrap().unwrap();
        assert_eq!((old.name.as_str(), old.admin, old.sandbox_id), ("old", true, None));
        assert_eq!(store.setting("s").unwrap().as_deref(), Some("kept"));
        let scoped = KeyRow {
            id: "k2".into(),
            sandbox_id: Some("sb".into()),
            scopes: vec!["files".into()],
            expires_at: Some(4_000_000_000),
            ..old
        };
        store.insert_key("h2", &scoped).unwrap();
        assert_eq!(store.find_key("h2").unwrap().unwrap().scopes, ["files"]);
        drop(store);
        // Opening again is a no-op at the latest version.
        Store::open(dir.path()).unwrap();
        assert_eq!(user_version(dir.path()), 2);
    }

    #[test]
    fn a_database_of_a_newer_router_is_refused_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        Connection::open(dir.path().join("router.db"))
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = Store::open(dir.path()).err().unwrap().to_string();
        assert!(
            err.contains("newer agenttier-router") && err.contains("--data-dir"),
            "{err}"
        );
    }
}
