//! Memory and CPU time of the engine under test, from Linux's `/proc`. Embedded, the engine
//! shares this process with the harness: memory is the process's, CPU time is split by thread
//! name (the engine's threads are actix's `actix-rt|system:...` arbiters and
//! [`crate::target::ENGINE_THREAD`]). With `--engine-pid`, the other process's totals.

use std::time::Duration;

use crate::target::ENGINE_THREAD;

/// Linux's `USER_HZ`: `/proc` counts CPU time in these ticks on every architecture we run on.
const TICKS_PER_SECOND: u64 = 100;

/// Resident memory, bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: now.
    pub rss: u64,
    /// `VmHWM`: the peak so far.
    pub peak: u64,
}

/// Where the engine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineProcess {
    /// In this process, on its own threads.
    Embedded,
    /// Another process on this machine.
    Pid(u32),
    /// Elsewhere: nothing can be read.
    Remote,
}

impl EngineProcess {
    pub fn memory(self) -> Option<Memory> {
        match self {
            EngineProcess::Embedded => memory_of("self"),
            EngineProcess::Pid(pid) => memory_of(&pid.to_string()),
            EngineProcess::Remote => None,
        }
    }

    /// CPU time (user + system) the engine used so far.
    pub fn cpu(self) -> Option<Duration> {
        match self {
            EngineProcess::Embedded => Some(thread_cpu(is_engine_thread).0),
            EngineProcess::Pid(pid) => std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| stat_ticks(&s))
                .map(|(_, ticks)| ticks_to_duration(ticks)),
            EngineProcess::Remote => None,
        }
    }
}

/// CPU time of this process's threads that are not the engine's: the harness.
pub fn harness_cpu() -> Duration {
    thread_cpu(|name| !is_engine_thread(name)).0
}

fn is_engine_thread(name: &str) -> bool {
    // `comm` is cut to 15 bytes: "actix-rt|system" for every arbiter of every System.
    name.starts_with("actix-rt") || name == ENGINE_THREAD
}

/// Total CPU time of the threads of this process whose name passes `pick`, and how many.
fn thread_cpu(pick: impl Fn(&str) -> bool) -> (Duration, usize) {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return (Duration::ZERO, 0);
    };
    let mut ticks = 0;
    let mut threads = 0;
    for entry in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((name, t)) = stat_ticks(&stat)
            && pick(&name)
        {
            ticks += t;
            threads += 1;
        }
    }
    (ticks_to_duration(ticks), threads)
}

/// `(comm, utime + stime)` of a `/proc/.../stat` line. `comm` may hold spaces and parentheses,
/// so the fields are counted from its last `)`.
fn stat_ticks(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    // After `)`: state is field 3; utime and stime are fields 14 and 15.
    let utime: u64 = rest.nth(11)?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some((name, utime + stime))
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

fn memory_of(pid: &str) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|k| k * 1024)
    };
    Some(Memory {
        rss: kib("VmRSS:")?,
        peak: kib("VmHWM:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_the_name() {
        let line = "42 (actix-rt|system) S 1 2 3 0 -1 4194304 101 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(stat_ticks(line), Some(("actix-rt|system".into(), 300)));
        let odd = "7 (a) b (c)) R 1 2 3 0 -1 0 0 0 0 0 5 6 0 0";
        assert_eq!(stat_ticks(odd), Some(("a) b (c)".into(), 11)));
    }

    #[test]
    fn reads_this_process() {
        let m = EngineProcess::Embedded.memory().unwrap();
        assert!(m.rss > 0 && m.peak >= m.rss, "{m:?}");
        let (_, threads) = thread_cpu(|_| true);
        assert!(threads >= 1);
        assert!(EngineProcess::Remote.cpu().is_none());
    }
}
