//! `bpflet:ebpf/events`: records from ring buffers and perf buffers,
//! handed to the guest in batches (one byte list plus offsets).
//!
//! Ring buffers are read in place (`ring`): a record is copied once, from
//! the kernel's pages straight into guest memory, with no allocation per
//! record or per batch on the host (`lower`), or not at all when the guest
//! maps the ring into its own memory (`map-ring`). Perf buffers go through
//! libbpf's callbacks (`perf`). `host` links the interface's functions.

mod host;
mod lower;
mod perf;
mod ring;

use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use libbpf_rs::MapHandle;
use wasmtime_wasi::p2::Pollable;

pub(crate) use self::host::add_to_linker;
use self::lower::{BatchData, BatchOffsets, LoweredBatch, RingRef};
use self::perf::Perf;
use self::ring::Ring;
use crate::abi::List;
use crate::bindings::events::BufferKind;
use crate::bindings::maps::MapType;
use crate::error::Context;
use crate::maps::BpfMap;
use crate::{sys, Error, Stop};

type Result<T> = std::result::Result<T, Error>;

/// Perf buffer pages per CPU when the guest does not say.
const DEFAULT_PERF_PAGES: u32 = 64;

enum Consumer {
    Ring(Ring),
    Perf(Perf),
}

pub struct EventBuffer {
    consumer: Consumer,
    total_lost: u64,
    /// The id of the map it reads.
    pub(crate) map_id: u32,
}

impl EventBuffer {
    fn open(map: &BpfMap, pages_per_cpu: Option<u32>) -> Result<Self> {
        let info = map.info();
        let handle = MapHandle::from_map_id(info.id).context("reopening map")?;
        let consumer = match info.map_type {
            MapType::Ringbuf => Consumer::Ring(Ring::open(handle, &info.name, info.max_entries as usize)?),
            MapType::PerfEventArray => {
                Consumer::Perf(Perf::open(handle, pages_per_cpu.unwrap_or(DEFAULT_PERF_PAGES) as usize)?)
            }
            other => {
                return Err(Error::invalid_argument(format!(
                    "map {:?} is a {other:?} map; events need a ringbuf or perf-event-array map",
                    info.name
                )));
            }
        };
        Ok(EventBuffer { consumer, total_lost: 0, map_id: info.id })
    }

    /// Kernel memory the buffer pins beyond its map's: a perf buffer's
    /// pages on every CPU (a ring buffer's are its map's).
    fn kernel_memory(&self) -> u64 {
        match &self.consumer {
            Consumer::Ring(_) => 0,
            Consumer::Perf(perf) => perf.pinned,
        }
    }

    fn kind(&self) -> BufferKind {
        match self.consumer {
            Consumer::Ring(_) => BufferKind::Ring,
            Consumer::Perf(_) => BufferKind::Perf,
        }
    }

    fn epoll_fd(&self) -> RawFd {
        match &self.consumer {
            Consumer::Ring(ring) => ring.epoll.as_raw_fd(),
            Consumer::Perf(perf) => perf.epoll_fd(),
        }
    }

    /// Gathers what the kernel has, at most `max` ring records; true when
    /// there is something to hand over.
    fn gather(&mut self, max: u32) -> Result<bool> {
        match &mut self.consumer {
            Consumer::Ring(ring) => ring.scan(max),
            Consumer::Perf(perf) => {
                perf.consume()?;
                Ok(!perf.pending().is_empty())
            }
        }
    }

    /// Waits up to `timeout` for records (less when `stop` is requested),
    /// then describes the batch; the records are copied into the guest when
    /// it is lowered.
    fn poll(&mut self, timeout: Duration, max: u32, stop: &Stop) -> Result<LoweredBatch> {
        let deadline = Instant::now() + timeout;
        while !self.gather(max)? {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || stop.is_requested() {
                break;
            }
            // Wait in slices so that a stop reaches a guest blocked here.
            let slice = left.min(Duration::from_millis(100));
            sys::wait_for_input(self.epoll_fd(), slice.as_millis().max(1) as i32).context("waiting for events")?;
        }
        Ok(match &mut self.consumer {
            Consumer::Ring(ring) => {
                let ring = RingRef::new(ring);
                LoweredBatch { data: List(BatchData::Ring(ring)), offsets: List(BatchOffsets::Ring(ring)), lost: 0 }
            }
            Consumer::Perf(perf) => {
                let (data, offsets, lost) = perf.pending().take(max);
                self.total_lost += lost;
                LoweredBatch { data: List(BatchData::Owned(data)), offsets: List(BatchOffsets::Owned(offsets)), lost }
            }
        })
    }

    /// The ring `map-ring` is to map, checked before anything is allocated.
    fn ring_to_share(&mut self) -> Result<&mut Ring> {
        match &mut self.consumer {
            Consumer::Ring(ring) if ring.is_shared() => {
                Err(Error::invalid_state("the ring buffer is already mapped into guest memory"))
            }
            Consumer::Ring(ring) if ring.region_len() > u32::MAX as usize => Err(Error::unsupported(format!(
                "a ring buffer of {} bytes does not fit in 32-bit guest memory twice",
                ring.size
            ))),
            Consumer::Ring(ring) => Ok(ring),
            Consumer::Perf(_) => Err(Error::unsupported("map-ring maps ring buffers; a perf buffer is read with poll")),
        }
    }

    fn has_pending(&mut self) -> bool {
        match &mut self.consumer {
            Consumer::Ring(ring) => ring.ready(),
            Consumer::Perf(perf) => !perf.pending().is_empty(),
        }
    }

    fn lost(&self) -> u64 {
        match &self.consumer {
            Consumer::Ring(_) => self.total_lost,
            Consumer::Perf(perf) => self.total_lost + perf.pending_lost(),
        }
    }
}

/// The epoll fd of a buffer, to be awaited by tokio.
struct EpollFd(RawFd);

impl AsRawFd for EpollFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

#[async_trait::async_trait]
impl Pollable for EventBuffer {
    async fn ready(&mut self) {
        if self.has_pending() {
            return;
        }
        // SAFETY: the epoll fd belongs to the buffer, which outlives this
        // future (the future borrows it), so it stays open and the same
        // while the AsyncFd exists.
        let registered = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(EpollFd(self.epoll_fd()), tokio::io::Interest::READABLE)
        };
        // If it cannot wait, it reports ready, so the guest polls and sees
        // the error.
        if let Ok(fd) = registered {
            let _ = fd.readable().await;
        }
    }
}
