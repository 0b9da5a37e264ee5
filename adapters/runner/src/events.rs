//! Ring and perf buffers: which struct each carries, and the `render`
//! plug-in's printer for their records.

use bpflet_decode::btf::{record_type, GlobalRef, RecordSource, Types};
use bpflet_sdk::plugins::render::{self, Format};
use bpflet_sdk::{EventBuffer, MapInfo, Object};

/// An open buffer and how to print its records.
pub struct Source {
    pub map: String,
    pub buffer: EventBuffer,
    /// Prints its records (from the `render` plug-in).
    pub records: render::Records,
}

/// Opens every ring and perf buffer among `maps`, working out the record
/// type of each. Call before attaching: a perf buffer loses what is
/// written while nobody reads it.
pub fn open_all(
    object: &Object,
    types: &Types,
    printer: &render::Types,
    format: Format,
    maps: &[MapInfo],
    globals: &[GlobalRef<'_>],
) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    for info in maps.iter().filter(|m| crate::maps::is_buffer(m)) {
        let definition = object.raw().map_types(&info.name).map(|t| t.definition).unwrap_or(0);
        let record = match record_type(types, definition, globals) {
            Ok(Some((id, source))) => {
                if let RecordSource::Pointer(name) = &source {
                    // Several buffers share the one pointer: say so, once.
                    if maps.iter().filter(|m| crate::maps::is_buffer(m)).count() > 1 {
                        eprintln!(
                            "note: buffer {} prints records as struct {} (from the global {name}); \
                             tag the map with bpflet.record=<struct> to choose",
                            info.name,
                            types.get(id).map_or("?", |t| t.name.as_str())
                        );
                    }
                }
                Some(id)
            }
            Ok(None) => {
                eprintln!(
                    "note: no record type for buffer {}: printing records as hex (tag the map with \
                     bpflet.record=<struct>, or declare `struct <name> *unused_event __attribute__((unused));`)",
                    info.name
                );
                None
            }
            Err(why) => {
                eprintln!("note: buffer {}: {why}; printing records as hex", info.name);
                None
            }
        };
        let map = object.map(&info.name).map_err(|e| format!("opening map {}: {e}", info.name))?;
        let buffer = EventBuffer::open(&map).map_err(|e| format!("opening buffer {}: {e}", info.name))?;
        let records =
            printer.records(record, format).map_err(|e| format!("printing the records of {}: {e}", info.name))?;
        sources.push(Source { map: info.name.clone(), buffer, records });
    }
    Ok(sources)
}
