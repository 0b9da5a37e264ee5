//! Every raw system call of the runtime, behind safe functions (as Aya's
//! `sys` module does): BPF map element calls, bpf_link_create,
//! perf_event_open, the packet socket of a socket filter, ring buffer
//! mappings, epoll, and a tracefs of bpflet's own. Each unsafe block says why its
//! call is sound; each function checks what the kernel will trust (buffer
//! lengths above all) before it calls.
//!
//! Errors are `io::Error`s carrying the errno; callers add what they were
//! doing (`crate::Context`).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

/// libbpf's wrappers return -errno (libbpf 1.0 mode); this turns that into
/// a result.
fn check(rc: i32) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::from_raw_os_error(-rc))
    } else {
        Ok(())
    }
}

/// -1 and errno, as libc calls report failure.
fn check_libc(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_string())
}

fn is_enoent(rc: i32) -> bool {
    rc == -libc::ENOENT
}

// ---- BPF map elements --------------------------------------------------

/// An open BPF map, with the sizes the kernel copies per element, read
/// from the kernel's own info for this fd: its key (none for queues,
/// stacks and bloom filters), and its value (per-CPU maps: one slot of the
/// value size rounded up to 8 bytes per possible CPU). Every element call
/// checks its buffers against them, so no caller can hand the kernel a
/// buffer it would read or write past.
pub struct MapFd {
    fd: OwnedFd,
    info: libbpf_sys::bpf_map_info,
    per_cpu: bool,
    keyless: bool,
    /// Values per element: the possible CPUs of a per-CPU map, else 1.
    slots: usize,
}

impl MapFd {
    pub fn new(fd: OwnedFd) -> io::Result<Self> {
        let mut info = libbpf_sys::bpf_map_info::default();
        let mut len = size_of::<libbpf_sys::bpf_map_info>() as u32;
        // SAFETY: `info` is a writable bpf_map_info of the length given.
        check(unsafe { libbpf_sys::bpf_map_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) })?;
        let map_type = libbpf_rs::MapType::from(info.type_);
        let per_cpu = map_type.is_percpu();
        let keyless =
            matches!(map_type, libbpf_rs::MapType::Queue | libbpf_rs::MapType::Stack | libbpf_rs::MapType::BloomFilter);
        let slots = if per_cpu { possible_cpus()? } else { 1 };
        Ok(MapFd { fd, info, per_cpu, keyless, slots })
    }

    /// The kernel's info on the map, as it was when opened.
    pub fn info(&self) -> &libbpf_sys::bpf_map_info {
        &self.info
    }

    pub fn per_cpu(&self) -> bool {
        self.per_cpu
    }

    pub fn keyless(&self) -> bool {
        self.keyless
    }

    /// Values per element: the possible CPUs of a per-CPU map, else 1.
    pub fn slots(&self) -> usize {
        self.slots
    }

    pub fn key_len(&self) -> usize {
        self.info.key_size as usize
    }

    /// Bytes of one value slot as the kernel lays it out: the value size,
    /// rounded up to 8 bytes for per-CPU maps.
    pub fn slot_len(&self) -> usize {
        let size = self.info.value_size as usize;
        if self.per_cpu {
            size.next_multiple_of(8)
        } else {
            size
        }
    }

    /// Bytes the kernel copies for one element's value.
    pub fn value_len(&self) -> usize {
        self.slot_len() * self.slots
    }

    /// The key pointer the kernel takes: NULL for keyless maps; checks
    /// that a key has the map's key size.
    fn key_ptr(&self, key: &[u8]) -> io::Result<*const libc::c_void> {
        if self.keyless {
            return Ok(std::ptr::null());
        }
        if key.len() != self.key_len() {
            return Err(invalid("key of the wrong size"));
        }
        Ok(key.as_ptr().cast())
    }

    fn check_value(&self, value: &[u8]) -> io::Result<()> {
        if value.len() != self.value_len() {
            return Err(invalid("value buffer of the wrong size"));
        }
        Ok(())
    }

    /// How many whole keys `keys` holds.
    pub fn whole_keys(&self, keys: &[u8]) -> io::Result<u32> {
        let size = self.key_len();
        if size == 0 || !keys.len().is_multiple_of(size) {
            return Err(invalid("not a whole number of keys"));
        }
        u32::try_from(keys.len() / size).map_err(|_| invalid("too many keys"))
    }

    /// BPF_MAP_LOOKUP_ELEM into `value`; false when the key is absent.
    pub fn lookup(&self, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
        let key = self.key_ptr(key)?;
        self.check_value(value)?;
        // SAFETY: the key pointer is NULL (keyless map) or has the map's key
        // size; `value` has the size the kernel writes (both checked above).
        let rc = unsafe { libbpf_sys::bpf_map_lookup_elem(self.fd.as_raw_fd(), key, value.as_mut_ptr().cast()) };
        if is_enoent(rc) {
            return Ok(false);
        }
        check(rc).map(|()| true)
    }

    /// BPF_MAP_UPDATE_ELEM with BPF_ANY, BPF_NOEXIST or BPF_EXIST.
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> io::Result<()> {
        let key = self.key_ptr(key)?;
        self.check_value(value)?;
        // SAFETY: as in `lookup`; the kernel only reads `value`.
        check(unsafe { libbpf_sys::bpf_map_update_elem(self.fd.as_raw_fd(), key, value.as_ptr().cast(), flags) })
    }

    /// BPF_MAP_DELETE_ELEM.
    pub fn delete(&self, key: &[u8]) -> io::Result<()> {
        let key = self.key_ptr(key)?;
        // SAFETY: as in `lookup`.
        check(unsafe { libbpf_sys::bpf_map_delete_elem(self.fd.as_raw_fd(), key) })
    }

    /// BPF_MAP_LOOKUP_AND_DELETE_ELEM into `value`; false when absent.
    pub fn lookup_and_delete(&self, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
        let key = self.key_ptr(key)?;
        self.check_value(value)?;
        // SAFETY: as in `lookup`.
        let rc =
            unsafe { libbpf_sys::bpf_map_lookup_and_delete_elem(self.fd.as_raw_fd(), key, value.as_mut_ptr().cast()) };
        if is_enoent(rc) {
            return Ok(false);
        }
        check(rc).map(|()| true)
    }

    /// BPF_MAP_GET_NEXT_KEY: the key after `previous` (the first key when
    /// none) into `next`; false when there is none.
    pub fn next_key(&self, previous: Option<&[u8]>, next: &mut [u8]) -> io::Result<bool> {
        let previous = match previous {
            Some(key) => self.key_ptr(key)?,
            None => std::ptr::null(),
        };
        if self.keyless || next.len() != self.key_len() {
            return Err(invalid("key buffer of the wrong size"));
        }
        // SAFETY: `previous` is NULL or a key of the map's size, `next` has
        // room for one key (checked above).
        let rc = unsafe { libbpf_sys::bpf_map_get_next_key(self.fd.as_raw_fd(), previous, next.as_mut_ptr().cast()) };
        if is_enoent(rc) {
            return Ok(false);
        }
        check(rc).map(|()| true)
    }

    /// BPF_MAP_LOOKUP_BATCH of up to `max` elements (at least one; fewer
    /// when their keys and values would take more than 64 MiB) from
    /// `cursor` (the start when none).
    pub fn lookup_batch(&self, cursor: Option<&[u8]>, max: u32) -> io::Result<BatchPage> {
        const MOST_BYTES: usize = 64 << 20;
        let per_element = (self.key_len() + self.value_len()).max(1);
        let max = max.clamp(1, u32::try_from(MOST_BYTES / per_element).unwrap_or(u32::MAX).max(1));
        let mut keys = zeroed(self.key_len() * max as usize)?;
        let mut values = zeroed(self.value_len() * max as usize)?;
        // The kernel's cursor: hash maps use a bucket index (u32), arrays
        // the key itself; a key-sized u64-aligned buffer fits both. A cursor
        // from the guest is copied into one such buffer, never handed over
        // as is.
        let cursor_size = self.key_len().max(4).next_multiple_of(8);
        let mut out_batch = vec![0u8; cursor_size];
        let mut in_batch = cursor.map(|given| {
            let mut buffer = vec![0u8; cursor_size];
            let len = given.len().min(cursor_size);
            buffer[..len].copy_from_slice(&given[..len]);
            buffer
        });
        let mut count = max;
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
            ..Default::default()
        };
        // SAFETY: `keys` and `values` hold `max` keys and values of the sizes
        // the kernel copies, both cursors `cursor_size` bytes, and `count`
        // (= max) tells the kernel how many elements fit.
        let rc = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                self.fd.as_raw_fd(),
                in_batch.as_mut().map_or(std::ptr::null_mut(), |b| b.as_mut_ptr().cast()),
                out_batch.as_mut_ptr().cast(),
                keys.as_mut_ptr().cast(),
                values.as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        let done = is_enoent(rc);
        if !done {
            check(rc)?;
        }
        let count = count.min(max);
        keys.truncate(self.key_len() * count as usize);
        values.truncate(self.value_len() * count as usize);
        Ok(BatchPage { count, keys, values, next: (!done).then_some(out_batch) })
    }

    /// BPF_MAP_UPDATE_BATCH of the whole keys in `keys`, with their values
    /// as the kernel lays them out; returns how many were written.
    pub fn update_batch(&self, keys: &[u8], values: &[u8], flags: u64) -> io::Result<u32> {
        let count = self.whole_keys(keys)?;
        if values.len() != count as usize * self.value_len() {
            return Err(invalid("values do not match the keys"));
        }
        let mut written = count;
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
            elem_flags: flags,
            ..Default::default()
        };
        // SAFETY: `keys` and `values` hold `count` elements each (checked).
        check(unsafe {
            libbpf_sys::bpf_map_update_batch(
                self.fd.as_raw_fd(),
                keys.as_ptr().cast(),
                values.as_ptr().cast(),
                &mut written,
                &opts,
            )
        })
        .map(|()| written)
    }

    /// BPF_MAP_DELETE_BATCH; returns how many keys were deleted, and on
    /// failure the error with that count.
    pub fn delete_batch(&self, keys: &[u8]) -> Result<u32, (io::Error, u32)> {
        let mut count = self.whole_keys(keys).map_err(|e| (e, 0))?;
        let opts = libbpf_sys::bpf_map_batch_opts {
            sz: size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
            ..Default::default()
        };
        // SAFETY: `keys` holds `count` keys (checked).
        let rc =
            unsafe { libbpf_sys::bpf_map_delete_batch(self.fd.as_raw_fd(), keys.as_ptr().cast(), &mut count, &opts) };
        check(rc).map(|()| count).map_err(|e| (e, count))
    }

    /// BPF_MAP_FREEZE: read-only for user space from now on.
    pub fn freeze(&self) -> io::Result<()> {
        // SAFETY: no pointers.
        check(unsafe { libbpf_sys::bpf_map_freeze(self.fd.as_raw_fd()) })
    }
}

/// One page of a BPF_MAP_LOOKUP_BATCH walk.
pub struct BatchPage {
    pub count: u32,
    /// `count` keys, back to back.
    pub keys: Vec<u8>,
    /// `count` values as the kernel copies them (see [`MapFd`]).
    pub values: Vec<u8>,
    /// Where the next page starts; none when the walk is over.
    pub next: Option<Vec<u8>>,
}

/// `len` zeroed bytes, or ENOMEM when they cannot be had.
fn zeroed(len: usize) -> io::Result<Vec<u8>> {
    let mut buffer = Vec::new();
    buffer.try_reserve_exact(len).map_err(|_| io::Error::from_raw_os_error(libc::ENOMEM))?;
    buffer.resize(len, 0);
    Ok(buffer)
}

/// The possible CPUs: the values a per-CPU map holds per element. An
/// error when the kernel does not say, rather than a guess that would
/// size the kernel's copies wrong.
pub fn possible_cpus() -> io::Result<usize> {
    // SAFETY: no arguments; reads sysfs.
    let cpus = unsafe { libbpf_sys::libbpf_num_possible_cpus() };
    check(cpus)?;
    usize::try_from(cpus).map_err(|_| invalid("no possible CPUs"))
}

// ---- Links and attachments ----------------------------------------------

/// BPF_LINK_CREATE: attaches `program` to a target (an ifindex, a cgroup
/// fd, ...) as `attach_type`; the link is the returned fd.
pub fn link_create(program: BorrowedFd<'_>, target: i32, attach_type: u32, flags: u32) -> io::Result<OwnedFd> {
    let opts = libbpf_sys::bpf_link_create_opts {
        sz: size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        flags,
        ..Default::default()
    };
    // SAFETY: `opts` is a valid options struct of the size it states.
    let fd = unsafe { libbpf_sys::bpf_link_create(program.as_raw_fd(), target, attach_type, &opts) };
    check(fd)?;
    // SAFETY: a non-negative result is a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The kernel's id of the link `fd`, if it is one.
pub fn link_id(fd: BorrowedFd<'_>) -> Option<u32> {
    let mut info = libbpf_sys::bpf_link_info::default();
    let mut len = size_of::<libbpf_sys::bpf_link_info>() as u32;
    // SAFETY: `info` is a writable bpf_link_info of the length given.
    let rc = unsafe { libbpf_sys::bpf_link_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) };
    (rc == 0).then_some(info.id)
}

/// perf_event_open(2) for every process on `cpu`, close-on-exec.
pub fn perf_event_open(mut attr: libbpf_sys::perf_event_attr, cpu: u32) -> io::Result<OwnedFd> {
    attr.size = size_of::<libbpf_sys::perf_event_attr>() as u32;
    /// From linux/perf_event.h; libc does not export it.
    const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
    let cpu = i32::try_from(cpu).map_err(|_| invalid("CPU number out of range"))?;
    // SAFETY: `attr` is a valid perf_event_attr whose `size` field says so;
    // the call returns a new fd or -1.
    let fd = unsafe {
        libc::syscall(libc::SYS_perf_event_open, std::ptr::from_ref(&attr), -1, cpu, -1, PERF_FLAG_FD_CLOEXEC)
    };
    let fd = check_libc(i32::try_from(fd).map_err(|_| invalid("perf_event_open returned no fd"))?)?;
    // SAFETY: a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A raw packet socket (AF_PACKET, every protocol) on interface `ifindex`
/// with the socket filter `program` attached before it is bound, so that no
/// packet reaches it unfiltered. Its receive buffer is as small as the
/// kernel allows: nobody reads it, so what the filter keeps is dropped.
pub fn filtered_packet_socket(program: BorrowedFd<'_>, ifindex: u32) -> io::Result<OwnedFd> {
    let protocol = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: no pointers; the result is checked.
    let fd =
        check_libc(unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, i32::from(protocol)) })?;
    // SAFETY: a new fd that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let set = |option: i32, value: i32| -> io::Result<()> {
        // SAFETY: a valid socket and a 4-byte option value that outlives the call.
        check_libc(unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                std::ptr::from_ref(&value).cast(),
                size_of::<i32>() as libc::socklen_t,
            )
        })
        .map(drop)
    };
    set(libc::SO_ATTACH_BPF, program.as_raw_fd())?;
    set(libc::SO_RCVBUF, 0)?;
    let address = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: protocol,
        sll_ifindex: i32::try_from(ifindex).map_err(|_| invalid("interface index out of range"))?,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    };
    // SAFETY: a valid socket and a sockaddr_ll of the size given.
    check_libc(unsafe {
        libc::bind(
            socket.as_raw_fd(),
            std::ptr::from_ref(&address).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    })?;
    Ok(socket)
}

/// The index of network interface `name`, if it exists.
pub fn if_nametoindex(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a valid C string for the call.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => None,
        index => Some(index),
    }
}

// ---- Memory mappings of ring buffers -------------------------------------

/// The kernel memory a BPF map's fd pins, as its fdinfo says (`memlock:`).
/// An error when it cannot be read (out of file descriptors, say): a
/// limit must not count what it cannot see as nothing.
pub fn memlock(fd: BorrowedFd<'_>) -> io::Result<u64> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))?;
    info.lines()
        .find_map(|l| l.strip_prefix("memlock:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::other("the map's fdinfo has no memlock"))
}

/// The size of a memory page.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// A shared mapping of a file (a BPF ring buffer map), unmapped on drop.
pub struct Mapping {
    at: NonNull<u8>,
    len: usize,
}

// SAFETY: a mapping is plain memory; nothing in it is tied to a thread.
unsafe impl Send for Mapping {}
// SAFETY: as above; shared access goes through atomics (events::ring).
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` from `offset`, read-write or read-only.
    pub fn shared(fd: BorrowedFd<'_>, len: usize, offset: usize, writable: bool) -> io::Result<Self> {
        let protection = if writable { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        let offset = libc::off_t::try_from(offset).map_err(|_| invalid("mapping offset out of range"))?;
        // SAFETY: a new mapping at an address the kernel picks; nothing
        // else is affected. Checked below.
        let at = unsafe { libc::mmap(std::ptr::null_mut(), len, protection, libc::MAP_SHARED, fd.as_raw_fd(), offset) };
        if at == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let at = NonNull::new(at.cast()).ok_or_else(|| invalid("mmap returned NULL"))?;
        Ok(Mapping { at, len })
    }

    /// Maps `len` bytes of `fd` from `offset` over the memory at `at`,
    /// replacing what was there. No `Mapping` owns the result: undo it with
    /// [`restore_anonymous`].
    ///
    /// # Safety
    /// `at..at + len` must be memory this process owns and that nothing
    /// reads or writes as anything but these pages from now on (guest linear
    /// memory the guest allocated for this).
    pub unsafe fn shared_over(
        at: NonNull<u8>,
        len: usize,
        fd: BorrowedFd<'_>,
        offset: usize,
        writable: bool,
    ) -> io::Result<NonNull<u8>> {
        let protection = if writable { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        let offset = libc::off_t::try_from(offset).map_err(|_| invalid("mapping offset out of range"))?;
        // SAFETY: replaces pages the caller owns (the contract above).
        let mapped = unsafe {
            libc::mmap(at.as_ptr().cast(), len, protection, libc::MAP_SHARED | libc::MAP_FIXED, fd.as_raw_fd(), offset)
        };
        if mapped == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(at)
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.at.as_ptr()
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: mapped by `shared` with this length, and not used after.
        unsafe { libc::munmap(self.at.as_ptr().cast(), self.len) };
    }
}

/// Puts ordinary zeroed, writable memory back at `at..at + len`, where
/// [`Mapping::shared_over`] mapped a file. Aborts the process when the
/// kernel refuses, since the file's pages would stay in memory that is
/// handed back to the guest.
///
/// # Safety
/// `at..at + len` must be the range a `shared_over` call mapped.
pub unsafe fn restore_anonymous(at: NonNull<u8>, len: usize) {
    // SAFETY: replaces the range the caller names, which is ours.
    let restored = unsafe {
        libc::mmap(
            at.as_ptr().cast(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    if restored == libc::MAP_FAILED {
        eprintln!("bpflet: cannot restore guest memory under a ring buffer: {}", io::Error::last_os_error());
        std::process::abort();
    }
}

// ---- Waiting --------------------------------------------------------------

/// An epoll instance waiting on one fd for input.
pub struct Epoll(OwnedFd);

impl Epoll {
    /// Waits on `fd`, which must stay open as long as this does.
    pub fn on(fd: BorrowedFd<'_>) -> io::Result<Self> {
        // SAFETY: no preconditions; checked.
        let epoll = check_libc(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: a new fd that nothing else owns.
        let epoll = Epoll(unsafe { OwnedFd::from_raw_fd(epoll) });
        let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: 0 };
        // SAFETY: valid fds and a valid event.
        check_libc(unsafe { libc::epoll_ctl(epoll.0.as_raw_fd(), libc::EPOLL_CTL_ADD, fd.as_raw_fd(), &mut event) })?;
        Ok(epoll)
    }

    pub fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// epoll_wait on an epoll fd (an [`Epoll`] or libbpf's) for up to
/// `timeout_ms`; an interrupted wait is not an error (the caller looks
/// again).
pub fn wait_for_input(epoll: RawFd, timeout_ms: i32) -> io::Result<()> {
    let mut event = libc::epoll_event { events: 0, u64: 0 };
    // SAFETY: one writable event slot; an invalid fd is an error, not UB.
    let n = unsafe { libc::epoll_wait(epoll, &mut event, 1, timeout_ms) };
    if n < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EINTR) {
            return Err(error);
        }
    }
    Ok(())
}

// ---- File systems -------------------------------------------------------

/// A tracefs mount attached nowhere (fsopen, fsmount): its files are read
/// through the returned fd (`/proc/self/fd/N/...`), and it goes when the
/// fd is closed, leaving no mount on the machine.
pub fn detached_tracefs() -> io::Result<OwnedFd> {
    /// From linux/mount.h; libc does not export them.
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    let fstype = c"tracefs";
    // SAFETY: a NUL-terminated name; the result is a new fd or -1.
    let context = unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) };
    let context = check_libc(i32::try_from(context).map_err(|_| invalid("fsopen returned no fd"))?)?;
    // SAFETY: a new fd that nothing else owns.
    let context = unsafe { OwnedFd::from_raw_fd(context) };
    // SAFETY: CMD_CREATE takes no key or value (null pointers, 0).
    let created = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            context.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    check_libc(i32::try_from(created).map_err(|_| invalid("fsconfig failed"))?)?;
    // SAFETY: a configured filesystem context; the result is a new fd or -1.
    let mount = unsafe { libc::syscall(libc::SYS_fsmount, context.as_raw_fd(), FSMOUNT_CLOEXEC, 0) };
    let mount = check_libc(i32::try_from(mount).map_err(|_| invalid("fsmount returned no fd"))?)?;
    // SAFETY: a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(mount) })
}
