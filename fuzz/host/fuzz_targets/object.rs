//! ELF and BTF bytes a guest hands to `bpf-object.open`: libbpf parses
//! them, bpflet mirrors their BTF, finds their globals and reads back
//! what a guest can read before load.
#![no_main]

libfuzzer_sys::fuzz_target!(|elf: &[u8]| {
    bpflet_runtime::ebpf_loader::fuzz_open(elf);
});
