//! Which gbb process a container belongs to, and whether that process is gone.
//!
//! Every container gbb starts carries [`CONTAINER_LABEL`] with its [`Owner`]: the process id,
//! the process's start time, the pid namespace, the boot and the machine. A gbb that is killed
//! (SIGKILL, a crash, a closed terminal) leaves its containers running; the next build and
//! `gbb clean` remove the containers whose owner is gone ([`remove_orphans`]).
//!
//! "Gone" must be certain, or gbb would kill another run's build. A pid alone is not enough:
//! pids are reused, another pid namespace (gbb in a container, sharing the host's engine) has
//! its own pids, and a remote engine is shared by machines whose pids mean nothing here. So an
//! owner is gone only when it ran on this machine and either this machine booted since (the
//! boot id differs), or it ran in this boot and pid namespace and no process with its pid and
//! start time exists now. Anything else (another machine, another pid namespace, a label
//! written by an older gbb that held only the pid) is left alone.
//!
//! Hand-written over `/proc` rather than with the `procfs` crate: two small files and one
//! field of a third are all it needs.

use std::fmt;
use std::sync::OnceLock;

use gbb_engine::Engine;

use crate::BuildError;

/// The label every container gbb starts carries: its [`Owner`].
pub const CONTAINER_LABEL: &str = "org.gentoo-bb.container";

/// The gbb process that started a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    /// Clock ticks after boot at which the process started (`/proc/<pid>/stat`, field 22).
    pub start: u64,
    /// The pid namespace (`/proc/self/ns/pid`, `pid:[4026531836]`), in which `pid` means
    /// something.
    pub pidns: String,
    /// `/proc/sys/kernel/random/boot_id`: new at every boot.
    pub boot: String,
    /// `/etc/machine-id`, else the host name.
    pub machine: String,
}

/// Whether a container's owner still runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Liveness {
    Alive,
    Gone,
    /// Cannot be told from here; with the reason.
    Unknown(&'static str),
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`), `None` when there is no
/// such process. The second field is the command name in parentheses and may hold spaces and
/// parentheses itself, so the fields are counted after its last `)`.
fn start_time(pid: &str) -> Option<u64> {
    start_in_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

fn start_in_stat(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name come field 3 (state) onwards: field 22 is the 20th of them.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

impl Owner {
    /// This process.
    pub fn current() -> &'static Owner {
        static CURRENT: OnceLock<Owner> = OnceLock::new();
        CURRENT.get_or_init(|| Owner {
            pid: std::process::id(),
            start: start_time("self").unwrap_or(0),
            pidns: std::fs::read_link("/proc/self/ns/pid")
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            boot: read_trimmed("/proc/sys/kernel/random/boot_id").unwrap_or_default(),
            machine: read_trimmed("/etc/machine-id")
                .or_else(|| read_trimmed("/var/lib/dbus/machine-id"))
                .or_else(|| read_trimmed("/proc/sys/kernel/hostname"))
                .unwrap_or_default(),
        })
    }

    /// The label's value (`pid=1234,start=5678,pidns=pid:[...],boot=...,machine=...`).
    pub fn label_value(&self) -> String {
        self.to_string()
    }

    /// An owner read back from a label; `None` for a value gbb did not write this way (an
    /// older gbb wrote the pid alone).
    pub fn parse(value: &str) -> Option<Owner> {
        let mut owner = Owner {
            pid: 0,
            start: 0,
            pidns: String::new(),
            boot: String::new(),
            machine: String::new(),
        };
        let mut seen = 0;
        for field in value.split(',') {
            let (name, value) = field.split_once('=')?;
            match name {
                "pid" => owner.pid = value.parse().ok()?,
                "start" => owner.start = value.parse().ok()?,
                "pidns" => owner.pidns = value.to_owned(),
                "boot" => owner.boot = value.to_owned(),
                "machine" => owner.machine = value.to_owned(),
                _ => return None,
            }
            seen += 1;
        }
        (seen == 5 && owner.pid > 0 && !owner.boot.is_empty() && !owner.machine.is_empty())
            .then_some(owner)
    }

    /// Whether this owner still runs, seen from `here` (this process), with `start_of` giving
    /// a pid's start time in this boot and pid namespace (`None`: no such process).
    pub fn liveness_from(&self, here: &Owner, start_of: impl Fn(u32) -> Option<u64>) -> Liveness {
        if here.machine.is_empty() || here.boot.is_empty() {
            return Liveness::Unknown("this machine cannot be identified");
        }
        if self.machine != here.machine {
            return Liveness::Unknown("started on another machine");
        }
        if self.boot != here.boot {
            // Every process of an earlier boot of this machine is gone.
            return Liveness::Gone;
        }
        if self.pidns != here.pidns || here.pidns.is_empty() {
            return Liveness::Unknown("started in another pid namespace");
        }
        match start_of(self.pid) {
            Some(start) if start == self.start => Liveness::Alive,
            // No such process, or its pid now belongs to a younger one.
            _ => Liveness::Gone,
        }
    }

    /// Whether this owner still runs, seen from this process.
    pub fn liveness(&self) -> Liveness {
        self.liveness_from(Owner::current(), |pid| start_time(&pid.to_string()))
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid={},start={},pidns={},boot={},machine={}",
            self.pid, self.start, self.pidns, self.boot, self.machine
        )
    }
}

/// What [`remove_orphans`] found.
#[derive(Debug, Default)]
pub struct Orphans {
    /// The containers removed: their id and the gbb id they were building (`ns/app`).
    pub removed: Vec<(String, String)>,
    /// Containers of gbb whose owner cannot be told from here, left alone.
    pub unknown: usize,
}

/// Removes every container of the stack `stack` (its identity, [`crate::stack_identity`])
/// whose gbb process is gone (see the module's doc). Waits until each is removed, so the next
/// build does not race a container that still writes into `.gbb/build`.
///
/// Only this stack's: another stack's killed run is that stack's to clean up (its next build
/// or `gbb clean` does it), as gbb touches nothing another stack made; and a gbb of another
/// stack running at the same moment is never raced.
pub fn remove_orphans(engine: &dyn Engine, stack: &str) -> Result<Orphans, BuildError> {
    let containers = engine
        .containers_with_label(CONTAINER_LABEL)
        .map_err(BuildError::engine(
            "looking for containers of gbb runs that are gone",
        ))?;
    let mut orphans = Orphans::default();
    for container in containers {
        if container
            .labels
            .get(crate::labels::STACK_LABEL)
            .map(String::as_str)
            != Some(stack)
        {
            continue;
        }
        let owner = container
            .labels
            .get(CONTAINER_LABEL)
            .and_then(|v| Owner::parse(v));
        match owner.map(|o| o.liveness()) {
            Some(Liveness::Gone) => {
                engine
                    .remove_container(&container.id)
                    .map_err(BuildError::engine(format!(
                        "removing container `{}` of a gbb run that is gone",
                        container.id
                    )))?;
                let id = container
                    .labels
                    .get(crate::labels::ID_LABEL)
                    .cloned()
                    .unwrap_or_default();
                orphans.removed.push((container.id, id));
            }
            Some(Liveness::Alive) => {}
            Some(Liveness::Unknown(_)) | None => orphans.unknown += 1,
        }
    }
    Ok(orphans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here() -> Owner {
        Owner {
            pid: 100,
            start: 5000,
            pidns: "pid:[4026531836]".to_owned(),
            boot: "b1".to_owned(),
            machine: "m1".to_owned(),
        }
    }

    #[test]
    fn labels_round_trip_and_old_labels_are_not_owners() {
        let owner = here();
        assert_eq!(Owner::parse(&owner.label_value()), Some(owner));
        assert_eq!(Owner::parse("1234"), None, "an older gbb's label");
        assert_eq!(Owner::parse("pid=1,start=2"), None);
        assert_eq!(
            Owner::parse("pid=1,start=2,pidns=x,boot=b,machine=m,extra=1"),
            None
        );
    }

    #[test]
    fn gone_only_when_certain() {
        let here = here();
        let other = |f: fn(&mut Owner)| {
            let mut o = here.clone();
            o.pid = 200;
            o.start = 7000;
            f(&mut o);
            o
        };
        let running = |pid: u32| (pid == 200).then_some(7000);
        let reused = |pid: u32| (pid == 200).then_some(9999);
        let none = |_: u32| None;
        assert_eq!(other(|_| {}).liveness_from(&here, running), Liveness::Alive);
        assert_eq!(other(|_| {}).liveness_from(&here, none), Liveness::Gone);
        assert_eq!(
            other(|_| {}).liveness_from(&here, reused),
            Liveness::Gone,
            "a reused pid"
        );
        assert_eq!(
            other(|o| o.boot = "b0".to_owned()).liveness_from(&here, running),
            Liveness::Gone,
            "an earlier boot"
        );
        assert!(matches!(
            other(|o| o.machine = "m2".to_owned()).liveness_from(&here, none),
            Liveness::Unknown(_)
        ));
        assert!(matches!(
            other(|o| o.pidns = "pid:[1]".to_owned()).liveness_from(&here, none),
            Liveness::Unknown(_)
        ));
    }

    #[test]
    fn this_process_is_alive() {
        let me = Owner::current();
        assert!(me.start > 0 && !me.boot.is_empty() && !me.machine.is_empty());
        assert_eq!(me.liveness(), Liveness::Alive);
        let mut dead = me.clone();
        dead.start += 1;
        assert_eq!(dead.liveness(), Liveness::Gone);
    }

    #[test]
    fn start_time_is_read_after_names_with_spaces_and_parentheses() {
        let stat = "4242 (gbb (a) b) S 1 4242 4242 34816 4242 4194560 1056 0 0 0 3 1 0 0 20 0 3 0 \
                    987654 1000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        assert_eq!(start_in_stat(stat), Some(987_654));
        assert_eq!(start_in_stat("4242 (gbb) S 1"), None);
        assert!(start_time("999999999").is_none(), "no such process");
    }
}
