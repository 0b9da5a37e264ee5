//! faults: loads execsnoop.bpf.o, attaches it, opens its ring buffer, then
//! ends the way its one argument says, so tests can check that bpflet
//! cleans up after every kind of ending:
//!
//! - `ok`: returns normally (exit 0)
//! - `error`: returns an error from main (exit 1)
//! - `exit N`: calls exit(N)
//! - `trap`: panics, which traps the component
//! - `spin`: loops in wasm code forever (stopped by a signal)
//! - `block`: waits in a host call forever (stopped by a signal)
//! - `ring-write`: maps the ring buffer into its memory (`map-ring`) and
//!   writes to its read-only data pages, which traps
//! - `alloc MIB`: allocates and fills MIB MiB, then returns normally
//!   (so `--max-memory` can refuse it)
//! - `graceful`: handles the stop itself: waits for SIGINT/SIGTERM through
//!   `signals.subscribe-stop`, then says so and returns normally
//! - `struct-ops`: loads the packaged object `structops.bpf.o` (`bpflet run
//!   --object`) and updates its struct_ops map, which would register a TCP
//!   congestion control beyond the program's life: prints the error it
//!   gets, and succeeds only if the update was refused as unsupported

use bpflet_sdk::{include_bpf, signals, Error, EventBuffer, OpenObject, UpdateFlag};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let how: Vec<String> = std::env::args().skip(1).collect();
    let obj = OpenObject::open(include_bpf!("execsnoop"))?.load()?;
    let _links = obj.attach_all()?;
    let events = EventBuffer::open(&obj.map("events")?)?;
    println!("attached");
    match how.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["ok"] => Ok(()),
        ["error"] => Err("failing on purpose".into()),
        ["exit", code] => std::process::exit(code.parse()?),
        ["trap"] => panic!("trapping on purpose"),
        ["spin"] => {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        ["block"] => loop {
            events.poll(60_000, 1)?;
        },
        ["alloc", mib] => {
            let mut block = vec![0u8; mib.parse::<usize>()? << 20];
            block.fill(1);
            println!("allocated {} MiB", std::hint::black_box(&block).len() >> 20);
            Ok(())
        }
        ["ring-write"] => {
            let pages = events.raw().map_ring()?;
            let mut region = pages.region;
            let page = pages.page_size as usize;
            let at = (region.as_ptr() as usize).next_multiple_of(page) - region.as_ptr() as usize;
            // The data area, two pages into the mapping: read-only.
            let data = at + 2 * page;
            println!("writing to the ring's data at region offset {data}");
            // SAFETY: in bounds; volatile so the write is not optimized away.
            unsafe { region.as_mut_ptr().add(data).write_volatile(1) };
            Err("the write to the ring's data pages did not trap".into())
        }
        ["struct-ops"] => {
            let ops = OpenObject::open_packaged("structops.bpf.o")?.load()?;
            let map = ops.map("bpflet_ops")?;
            let value = vec![0u8; map.info().value_size as usize];
            match map.update(&0u32.to_le_bytes(), &value, UpdateFlag::Any) {
                Err(Error::Unsupported(why)) => {
                    println!("refused: {why}");
                    Ok(())
                }
                other => Err(format!("the struct_ops update was not refused: {other:?}").into()),
            }
        }
        ["graceful"] => {
            let stop = signals::subscribe_stop();
            println!("waiting for a stop signal");
            stop.block();
            println!("stopping cleanly");
            Ok(())
        }
        _ => {
            Err(format!("usage: faults ok|error|exit N|trap|spin|block|alloc MIB|ring-write|graceful, got {how:?}")
                .into())
        }
    }
}
