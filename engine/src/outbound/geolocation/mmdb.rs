//! The local provider: a MaxMind-format database (GeoLite2/GeoIP2 City, or anything in their
//! record shape), held in memory and reloaded when the file changes.
//!
//! **Reloading.** At most once a second, a lookup notices that the check is due and hands it to
//! tokio's blocking pool: `stat` the path, and when its identity (inode, length, mtime)
//! changed, read and open the new file there. The lookup itself does not wait — it answers
//! from the database in memory — so lookups never touch the disk; a change is seen by the
//! lookups after the check (within about a second of the first lookup after the change). No
//! thread runs while nothing is looked up. A file that fails to open keeps the old database
//! (a warning is logged; the next change is tried again), so a half-written file during an
//! in-place rewrite is harmless; replacing the file by rename works the same way. Each
//! successful reload bumps a generation, which clears the geolocator's cache.

use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use maxminddb::{MaxMindDbError, Reader};
use parking_lot::{Mutex, RwLock};
use serde::Deserialize;
use tokio::time::Instant;

use super::http::country_code;
use super::{GeoError, Location, clean};
use crate::error::StartupError;

const KEY: &str = "geolocation.mmdb_path";

/// How often the file is looked at for a change.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The largest database read (the full GeoIP2 City is about 120 MB).
const MAX_FILE: u64 = 1 << 30;

/// The most of a name kept (real ones are far shorter).
const MAX_NAME: usize = 200;

/// What identifies one version of the file: a rename brings a new inode, a rewrite in place a
/// new length or mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Signature {
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

/// A MaxMind database file, reloaded when it changes.
pub(super) struct MmdbProvider {
    path: PathBuf,
    reader: RwLock<Arc<Reader<Vec<u8>>>>,
    /// Bumped by each successful reload.
    generation: AtomicU64,
    /// The file last opened or tried (a file that failed is not tried again until it changes).
    seen: Mutex<Option<Signature>>,
    next_check: Mutex<Instant>,
    checking: AtomicBool,
}

impl MmdbProvider {
    /// Opens `path`; a missing or unreadable file, or one that is not a MaxMind database,
    /// is an error naming `geolocation.mmdb_path`.
    pub(super) fn open(path: &str) -> Result<Self, StartupError> {
        if path.trim().is_empty() {
            return Err(StartupError::invalid(
                KEY,
                "empty while the provider is mmdb",
            ));
        }
        let path = PathBuf::from(path);
        let (reader, signature) = load(&path).map_err(|e| match e {
            LoadError::Io(source) => StartupError::Unreadable {
                key: KEY.into(),
                path: path.display().to_string(),
                source,
            },
            LoadError::Invalid(problem) => StartupError::invalid(KEY, problem),
        })?;
        Ok(Self {
            path,
            reader: RwLock::new(Arc::new(reader)),
            generation: AtomicU64::new(0),
            seen: Mutex::new(Some(signature)),
            next_check: Mutex::new(Instant::now() + CHECK_EVERY),
            checking: AtomicBool::new(false),
        })
    }

    /// The database's generation (bumped by each reload), after starting a check of the file
    /// when one is due. Never waits for the disk.
    pub(super) fn refresh(self: &Arc<Self>) -> u64 {
        if self.check_due() && !self.checking.swap(true, Ordering::AcqRel) {
            let me = Arc::clone(self);
            tokio::task::spawn_blocking(move || {
                // Cleared however the check ends, so a panic in it cannot stop reloads for good.
                let _done = Done(&me.checking);
                me.reload_if_changed();
            });
        }
        self.generation.load(Ordering::Acquire)
    }

    /// Whether a second has passed since the last check (and if so, the next is a second away).
    fn check_due(&self) -> bool {
        let now = Instant::now();
        let mut next = self.next_check.lock();
        if now < *next {
            return false;
        }
        *next = now + CHECK_EVERY;
        true
    }

    /// Blocking: opens the file again if it changed since it was last opened or tried.
    fn reload_if_changed(&self) {
        let Ok(signature) = signature(&self.path) else {
            // Gone for a moment (between unlink and rename, or being replaced): keep serving.
            return;
        };
        if self.seen.lock().replace(signature) == Some(signature) {
            return;
        }
        match load(&self.path) {
            Ok((reader, _)) => {
                *self.reader.write() = Arc::new(reader);
                self.generation.fetch_add(1, Ordering::AcqRel);
                tracing::info!(path = %self.path.display(), "geolocation database reloaded");
            }
            Err(e) => tracing::warn!(
                path = %self.path.display(),
                error = %e,
                "geolocation database changed but cannot be opened; keeping the old one"
            ),
        }
    }

    /// The address's City record. In memory: no I/O.
    pub(super) fn lookup(&self, ip: IpAddr) -> Result<Location, GeoError> {
        let reader = Arc::clone(&self.reader.read());
        if ip.is_ipv6() && reader.metadata().ip_version == 4 {
            return Err(GeoError::NotFound);
        }
        let record: CityRecord<'_> = reader
            .lookup(ip)
            .and_then(|found| found.decode())
            .map_err(database)?
            .ok_or(GeoError::NotFound)?;
        let name = |n: Option<&str>| n.map(|n| clean(n, MAX_NAME)).filter(|n| !n.is_empty());
        let location = Location {
            country_code: record.country.iso_code.and_then(country_code),
            region: record
                .subdivisions
                .first()
                .and_then(|s| name(s.names.english)),
            city: name(record.city.names.english),
        };
        if location.is_empty() {
            return Err(GeoError::NoLocation);
        }
        Ok(location)
    }
}

/// The part of a GeoIP2/GeoLite2 City record Tessera reads (the same field names as
/// `maxminddb::geoip2::City`). Decoding only these skips the rest of the record (coordinates,
/// postal code, traits...): less work, and a malformed field Tessera never shows cannot fail
/// the lookup.
#[derive(Deserialize, Default)]
struct CityRecord<'a> {
    #[serde(borrow, default)]
    country: Country<'a>,
    #[serde(borrow, default)]
    subdivisions: Vec<Named<'a>>,
    #[serde(borrow, default)]
    city: Named<'a>,
}

#[derive(Deserialize, Default)]
struct Country<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize, Default)]
struct Named<'a> {
    #[serde(borrow, default)]
    names: Names<'a>,
}

#[derive(Deserialize, Default)]
struct Names<'a> {
    #[serde(borrow, default, rename = "en")]
    english: Option<&'a str>,
}

/// Clears the "check running" flag when dropped.
struct Done<'a>(&'a AtomicBool);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn database(e: MaxMindDbError) -> GeoError {
    GeoError::Database(clean(&e.to_string(), MAX_NAME))
}

enum LoadError {
    Io(std::io::Error),
    Invalid(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "{e}"),
            Self::Invalid(problem) => f.write_str(problem),
        }
    }
}

/// Reads and opens the database at `path` (blocking), with the signature of what was read.
fn load(path: &Path) -> Result<(Reader<Vec<u8>>, Signature), LoadError> {
    let mut file = std::fs::File::open(path).map_err(LoadError::Io)?;
    let meta = file.metadata().map_err(LoadError::Io)?;
    if meta.len() > MAX_FILE {
        return Err(LoadError::Invalid(format!(
            "{} is larger than {} MiB",
            path.display(),
            MAX_FILE >> 20
        )));
    }
    let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.by_ref()
        .take(MAX_FILE)
        .read_to_end(&mut buf)
        .map_err(LoadError::Io)?;
    let reader = Reader::from_source(buf).map_err(|e| {
        LoadError::Invalid(format!("{} is not a MaxMind database: {e}", path.display()))
    })?;
    Ok((reader, signature_of(&meta)))
}

fn signature(path: &Path) -> std::io::Result<Signature> {
    std::fs::metadata(path).map(|meta| signature_of(&meta))
}

fn signature_of(meta: &std::fs::Metadata) -> Signature {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let inode = 0;
    Signature {
        inode,
        len: meta.len(),
        modified: meta.modified().ok(),
    }
}
