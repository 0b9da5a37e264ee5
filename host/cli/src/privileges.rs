//! What a run keeps of root. `bpflet run` needs root's power over BPF,
//! perf events, networking and mounts for as long as the guest may load,
//! attach and read, which is the whole run; it needs nothing else. So
//! before it fetches or starts anything, it drops every other capability
//! (loading kernel modules, raw I/O, changing uids, creating device nodes,
//! ...) from its effective, permitted, inheritable and ambient sets and
//! from its bounding set, so that nothing can get them back, and sets
//! no_new_privs, so that no program it could exec gains any either.

use std::io;

/// The capabilities a run keeps, by number (linux/capability.h) and name.
pub const KEEP: &[(u32, &str)] = &[
    // Root's access to files (the guest's --dir directories, uprobe
    // binaries, the cache) stays what it was.
    (1, "CAP_DAC_OVERRIDE"),
    (2, "CAP_DAC_READ_SEARCH"),
    // XDP and tc attachments.
    (12, "CAP_NET_ADMIN"),
    // Socket filters' packet sockets.
    (13, "CAP_NET_RAW"),
    // Perf buffers past the perf_event_mlock_kb limit (the kernel asks for
    // this one, not CAP_PERFMON).
    (14, "CAP_IPC_LOCK"),
    // Uprobes and perf events on processes of other users.
    (19, "CAP_SYS_PTRACE"),
    // Program types and maps older kernels reserve to it, and tracefs.
    (21, "CAP_SYS_ADMIN"),
    // The locked-memory limit that kernels before 5.11 charge maps to.
    (24, "CAP_SYS_RESOURCE"),
    (38, "CAP_PERFMON"),
    (39, "CAP_BPF"),
];

const PR_CAPBSET_DROP: libc::c_int = 24;
const PR_CAP_AMBIENT: libc::c_int = 47;
const PR_CAP_AMBIENT_CLEAR_ALL: libc::c_ulong = 4;
const PR_SET_NO_NEW_PRIVS: libc::c_int = 38;
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The highest capability this kernel knows.
fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(40)
}

/// The mask of the kept capabilities, as two 32-bit words.
fn keep_mask() -> u64 {
    KEEP.iter().fold(0, |mask, &(cap, _)| mask | 1 << cap)
}

/// Drops every capability but [`KEEP`] from this process, for good.
pub fn drop_unneeded() -> io::Result<()> {
    let keep = keep_mask();
    // The bounding set first: dropping from it needs CAP_SETPCAP, which
    // goes next. Without it (not root) there is nothing to drop.
    for cap in 0..=last_cap() {
        if keep & (1 << cap) == 0 {
            // SAFETY: prctl with integer arguments only.
            if unsafe { libc::prctl(PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
                let error = io::Error::last_os_error();
                if error.raw_os_error() != Some(libc::EPERM) && error.raw_os_error() != Some(libc::EINVAL) {
                    return Err(error);
                }
            }
        }
    }
    let mut header = Header { version: CAPABILITY_VERSION_3, pid: 0 };
    let mut data = [Data::default(); 2];
    // SAFETY: a version-3 header and the two data words it reads into.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    for (i, word) in data.iter_mut().enumerate() {
        let keep = (keep >> (32 * i)) as u32;
        word.effective &= keep;
        word.permitted &= keep;
        word.inheritable = 0;
    }
    // SAFETY: as above; capset only lowers what capget read.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        if libc::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_set_is_what_the_kernel_work_needs() {
        let names: Vec<&str> = KEEP.iter().map(|(_, name)| *name).collect();
        for needed in ["CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"] {
            assert!(names.contains(&needed), "{needed}");
        }
        for dropped in ["CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SETUID", "CAP_MKNOD", "CAP_SYS_BOOT"] {
            assert!(!names.contains(&dropped), "{dropped}");
        }
        assert_eq!(keep_mask(), 0xc0_0128_7006);
    }
}
