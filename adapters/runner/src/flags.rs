//! The command line: one flag per `const volatile` global of the object,
//! typed from its BTF, plus the runner's own options; `--help` text.
//! Pure: the caller reads globals, initial values and `.bpflet.meta`.

use std::collections::HashMap;
use std::time::Duration;

use bpflet_sdk::bindings::bpflet::ebpf::btf::Kind;

use bpflet_decode::btf::{Scalar, Types};
use bpflet_decode::value::{decode, Value};

/// What a global flag takes.
#[derive(Clone, Debug, PartialEq)]
pub enum FlagType {
    Bool,
    Int {
        size: u32,
        signed: bool,
    },
    Float {
        size: u32,
    },
    /// A `char[capacity]`: a string of at most `capacity - 1` bytes.
    Str {
        capacity: u32,
    },
    Enum {
        size: u32,
        signed: bool,
        values: Vec<(String, i64)>,
    },
}

/// A flag that sets a global before load.
#[derive(Clone, Debug)]
pub struct GlobalFlag {
    /// The global's C name.
    pub global: String,
    /// The flag without `--`: the global's name, or `bpf-<name>` when the
    /// name is one of the runner's options.
    pub flag: String,
    pub ty: FlagType,
    /// `u32`, `bool`, `string[16]`, `enum mode`, ...
    pub label: String,
    /// The object's initial value, as text.
    pub default: String,
    pub description: Option<String>,
}

/// A global of the object, as the flag builder needs it.
pub struct GlobalSpec {
    pub name: String,
    pub section: String,
    pub read_only: bool,
    pub type_id: u32,
    /// Its value before load (`bpf-object.global`).
    pub initial: Vec<u8>,
}

/// The runner's own options: name, value placeholder, help.
const RUNNER_OPTIONS: [(&str, Option<&str>, &str); 9] = [
    ("json", None, "print records, histograms and maps as JSON, one object per line"),
    ("interval", Some("SECS"), "also print histograms (and --print-maps maps) every SECS seconds"),
    ("duration", Some("SECS"), "stop after SECS seconds, as Ctrl-C does"),
    ("print-maps", None, "at exit, print every map that is not a buffer or a histogram"),
    ("ifname", Some("IF"), "network interface for xdp, tc and socket programs"),
    ("uprobe", Some("BINARY:SYMBOL"), "where uprobe/uretprobe programs without a target attach"),
    ("cgroup", Some("PATH"), "cgroup v2 directory for cgroup programs [default: /sys/fs/cgroup]"),
    ("perf-freq", Some("HZ"), "samples per second on every CPU for perf_event programs [default: 99]"),
    ("help", None, "print this help"),
];

/// Default `--perf-freq`.
pub const PERF_FREQ: u64 = 99;

/// The runner's options as parsed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    pub json: bool,
    pub interval: Option<Duration>,
    pub duration: Option<Duration>,
    pub print_maps: bool,
    pub ifname: Option<String>,
    /// (binary, symbol)
    pub uprobe: Option<(String, String)>,
    pub cgroup: Option<String>,
    pub perf_freq: u64,
    pub help: bool,
}

/// A parsed command line.
#[derive(Debug)]
pub struct Parsed {
    pub options: Options,
    /// Globals to set before load: (global name, bytes).
    pub globals: Vec<(String, Vec<u8>)>,
}

/// Dashes and underscores are the same in flag names.
fn normalize(name: &str) -> String {
    name.replace('_', "-")
}

/// Descriptions of globals from the `.bpflet.meta` section:
/// `{"globals": {"<name>": {"description": "..."}}}`.
pub fn descriptions(meta: &[u8]) -> Result<HashMap<String, String>, String> {
    let end = meta.iter().rposition(|&b| b != 0 && !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
    let json: serde_json::Value =
        serde_json::from_slice(&meta[..end]).map_err(|e| format!("section .bpflet.meta is not JSON: {e}"))?;
    let mut out = HashMap::new();
    if let Some(globals) = json.get("globals").and_then(|g| g.as_object()) {
        for (name, info) in globals {
            if let Some(text) = info.get("description").and_then(|d| d.as_str()) {
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                if !text.is_empty() {
                    out.insert(name.clone(), text);
                }
            }
        }
    }
    Ok(out)
}

/// The flag type of a global of type `id`, if a command line can set it.
pub fn flag_type(types: &Types, id: u32) -> Option<FlagType> {
    if let Some(capacity) = types.char_array_len(id) {
        return (capacity > 0).then_some(FlagType::Str { capacity });
    }
    match types.scalar(id) {
        Some(Scalar::Bool) => return Some(FlagType::Bool),
        Some(Scalar::Int { size, signed }) if matches!(size, 1 | 2 | 4 | 8) => {
            return Some(FlagType::Int { size, signed })
        }
        _ => {}
    }
    match types.kind(id)? {
        Kind::Float(size @ (4 | 8)) => Some(FlagType::Float { size: *size }),
        Kind::EnumType(e) if matches!(e.size, 1 | 2 | 4 | 8) => Some(FlagType::Enum {
            size: e.size,
            signed: e.signed,
            values: e.values.iter().map(|v| (v.name.clone(), v.value)).collect(),
        }),
        _ => None,
    }
}

/// One flag per read-only global of a `.rodata*` section whose type a
/// command line can express (integers, bools, enums, floats, char arrays).
pub fn global_flags(types: &Types, globals: &[GlobalSpec], descriptions: &HashMap<String, String>) -> Vec<GlobalFlag> {
    let runner: Vec<&str> = RUNNER_OPTIONS.iter().map(|o| o.0).collect();
    globals
        .iter()
        .filter(|g| g.read_only && g.section.starts_with(".rodata"))
        .filter_map(|g| {
            let ty = flag_type(types, g.type_id)?;
            let flag =
                if runner.contains(&normalize(&g.name).as_str()) { format!("bpf-{}", g.name) } else { g.name.clone() };
            let default = match decode(types, g.type_id, &g.initial) {
                Value::Str(s) => format!("{s:?}"),
                value => value.to_text(),
            };
            Some(GlobalFlag {
                global: g.name.clone(),
                flag,
                label: types.display_name(g.type_id),
                ty,
                default,
                description: descriptions.get(&g.name).cloned(),
            })
        })
        .collect()
}

/// An integer in decimal or `0x` hex, with an optional sign.
fn parse_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse().ok()?,
        None => return None,
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn int_range(size: u32, signed: bool) -> (i128, i128) {
    let bits = size * 8;
    if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

fn int_bytes(value: i128, size: u32) -> Vec<u8> {
    value.to_le_bytes()[..size as usize].to_vec()
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

impl FlagType {
    /// The bytes of `text` as this type, or why it does not fit.
    pub fn parse(&self, label: &str, text: &str) -> Result<Vec<u8>, String> {
        match self {
            FlagType::Bool => parse_bool(text)
                .map(|b| vec![u8::from(b)])
                .ok_or_else(|| format!("{text:?} is not a bool (true or false)")),
            FlagType::Int { size, signed } => {
                let value = parse_int(text).ok_or_else(|| format!("{text:?} is not an integer (decimal or 0x hex)"))?;
                let (min, max) = int_range(*size, *signed);
                if value < min || value > max {
                    return Err(format!("{text} is out of range for {label} ({min} to {max})"));
                }
                Ok(int_bytes(value, *size))
            }
            FlagType::Float { size } => {
                let value: f64 = text.parse().map_err(|_| format!("{text:?} is not a number"))?;
                Ok(if *size == 4 { (value as f32).to_le_bytes().to_vec() } else { value.to_le_bytes().to_vec() })
            }
            FlagType::Str { capacity } => {
                let bytes = text.as_bytes();
                if bytes.contains(&0) {
                    return Err("a string cannot hold a NUL byte".into());
                }
                if bytes.len() >= *capacity as usize {
                    return Err(format!(
                        "{text:?} is {} bytes; {label} holds at most {} (and the closing NUL)",
                        bytes.len(),
                        capacity - 1
                    ));
                }
                let mut out = bytes.to_vec();
                out.resize(*capacity as usize, 0);
                Ok(out)
            }
            FlagType::Enum { size, signed, values } => {
                let value = enum_value(values, text).or_else(|| parse_int(text)).ok_or_else(|| {
                    let names: Vec<&str> = values.iter().map(|v| v.0.as_str()).collect();
                    format!("{text:?} is not a value of {label} (one of {})", names.join(", "))
                })?;
                let (min, max) = int_range(*size, *signed);
                // Unsigned enums above i64::MAX come through BTF as negative.
                let value = if !*signed && value < 0 { value + (1i128 << (size * 8)) } else { value };
                if value < min || value > max {
                    return Err(format!("{text} is out of range for {label} ({min} to {max})"));
                }
                Ok(int_bytes(value, *size))
            }
        }
    }
}

/// An enumerator by name: exact, then ignoring case, then without the
/// prefix all of them share (`root` for `MODE_ROOT`).
fn enum_value(values: &[(String, i64)], text: &str) -> Option<i128> {
    let found = values
        .iter()
        .find(|(name, _)| name == text)
        .or_else(|| values.iter().find(|(name, _)| name.eq_ignore_ascii_case(text)))
        .or_else(|| {
            let prefix = common_prefix(values);
            values.iter().find(|(name, _)| name.get(prefix..).is_some_and(|rest| rest.eq_ignore_ascii_case(text)))
        })?;
    Some(i128::from(found.1))
}

/// Length of the `_`-ended prefix every enumerator shares (`MODE_`).
fn common_prefix(values: &[(String, i64)]) -> usize {
    let Some((first, _)) = values.first() else {
        return 0;
    };
    let mut len = first.len();
    for (name, _) in &values[1..] {
        len = len.min(first.bytes().zip(name.bytes()).take_while(|(a, b)| a == b).count());
    }
    first[..len].rfind('_').map_or(0, |i| i + 1)
}

fn seconds(flag: &str, text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("--{flag} takes a positive number of seconds, not {text:?}")),
    }
}

/// Parses `args` (without argv[0]).
pub fn parse(args: &[String], flags: &[GlobalFlag]) -> Result<Parsed, String> {
    let mut options = Options { perf_freq: PERF_FREQ, ..Options::default() };
    let mut globals: Vec<(String, Vec<u8>)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "-h" {
            options.help = true;
            continue;
        }
        if arg == "--" {
            continue;
        }
        let Some(body) = arg.strip_prefix("--").filter(|b| !b.is_empty()) else {
            return Err(format!("unexpected argument {arg:?} (flags start with --)"));
        };
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (body, None),
        };
        let key = normalize(name);

        if let Some(&(option, placeholder, _)) = RUNNER_OPTIONS.iter().find(|o| o.0 == key) {
            let value = match (placeholder, inline) {
                (None, Some(_)) => return Err(format!("--{option} takes no value")),
                (None, None) => String::new(),
                (Some(_), Some(value)) => value,
                (Some(placeholder), None) => {
                    let value = args.get(i).ok_or_else(|| format!("--{option} needs a value {placeholder}"))?;
                    i += 1;
                    value.clone()
                }
            };
            match option {
                "json" => options.json = true,
                "print-maps" => options.print_maps = true,
                "help" => options.help = true,
                "interval" => options.interval = Some(seconds(option, &value)?),
                "duration" => options.duration = Some(seconds(option, &value)?),
                "ifname" if value.is_empty() => return Err("--ifname needs an interface name".into()),
                "ifname" => options.ifname = Some(value),
                "cgroup" => options.cgroup = Some(value),
                "uprobe" => {
                    let (binary, symbol) =
                        value.rsplit_once(':').filter(|(b, s)| !b.is_empty() && !s.is_empty()).ok_or_else(|| {
                            format!("--uprobe takes BINARY:SYMBOL, e.g. /bin/bash:readline, not {value:?}")
                        })?;
                    options.uprobe = Some((binary.to_string(), symbol.to_string()));
                }
                "perf-freq" => {
                    options.perf_freq = value.parse().ok().filter(|&hz| hz > 0).ok_or_else(|| {
                        format!("--perf-freq takes a positive number of samples per second, not {value:?}")
                    })?;
                }
                _ => unreachable!("every runner option is handled"),
            }
            continue;
        }

        let Some(flag) = flags.iter().find(|f| normalize(&f.flag) == key) else {
            return Err(format!("unknown flag --{name}"));
        };
        let text = match (inline, &flag.ty) {
            (Some(value), _) => value,
            // A bool alone means true; a word after it (not a flag) is its value.
            (None, FlagType::Bool) => match args.get(i).filter(|next| !next.starts_with('-')) {
                Some(next) => {
                    i += 1;
                    next.clone()
                }
                None => "true".into(),
            },
            (None, _) => {
                let value = args.get(i).ok_or_else(|| format!("--{} needs a value <{}>", flag.flag, flag.label))?;
                i += 1;
                value.clone()
            }
        };
        let bytes = flag.ty.parse(&flag.label, &text).map_err(|why| format!("bad value for --{}: {why}", flag.flag))?;
        globals.retain(|(global, _)| *global != flag.global);
        globals.push((flag.global.clone(), bytes));
    }
    Ok(Parsed { options, globals })
}

/// The `--help` text. `programs`: (name, section) of what gets attached.
pub fn help(display: &str, object: &str, programs: &[(String, String)], flags: &[GlobalFlag]) -> String {
    let mut out = format!("Usage: {display} [OPTIONS]\n\n");
    out += &format!("Loads the BPF object {object}, attaches its programs and prints what they report\n");
    out += "(ring/perf buffer records, histograms, maps) until Ctrl-C.\n";
    if !programs.is_empty() {
        out += "\nPrograms:\n";
        let width = programs.iter().map(|p| p.0.len()).max().unwrap_or(0);
        for (name, section) in programs {
            out += &format!("  {name:<width$}  SEC(\"{section}\")\n");
        }
    }

    let global_heads: Vec<String> = flags.iter().map(|f| format!("--{} <{}>", f.flag, f.label)).collect();
    let runner_heads: Vec<String> = RUNNER_OPTIONS
        .iter()
        .map(|(name, value, _)| match value {
            Some(value) => format!("--{name} {value}"),
            None => format!("--{name}"),
        })
        .collect();
    let width = global_heads.iter().chain(&runner_heads).map(String::len).max().unwrap_or(0);

    if !flags.is_empty() {
        out += "\nOptions from the object's globals:\n";
        for (flag, head) in flags.iter().zip(&global_heads) {
            let mut text = flag.description.clone().unwrap_or_default();
            if !text.is_empty() {
                text.push(' ');
            }
            text += &format!("[default: {}]", flag.default);
            if let FlagType::Enum { values, .. } = &flag.ty {
                let names: Vec<String> = values.iter().map(|(n, v)| format!("{n}={v}")).collect();
                text += &format!(" [values: {}]", names.join(", "));
            }
            out += &format!("  {head:<width$}  {text}\n");
        }
    }
    out += "\nRunner options:\n";
    for ((_, _, text), head) in RUNNER_OPTIONS.iter().zip(&runner_heads) {
        out += &format!("  {head:<width$}  {text}\n");
    }
    out += "\nIn flag names, dashes and underscores are the same (--target-pid = --target_pid).\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpflet_decode::testing::Builder;
    use bpflet_sdk::bindings::bpflet::ebpf::btf::IntEncoding;

    /// The globals of guests/bpf/exectrace.bpf.c, as its BTF has them.
    fn exectrace() -> (Types, Vec<GlobalSpec>) {
        let mut b = Builder::new();
        let uint = b.int("unsigned int", 4, IntEncoding::Unsigned);
        let u32_ = b.add("__u32", Kind::Typedef(uint));
        let cv_u32 = b.const_volatile(u32_);
        let boolean = b.int("_Bool", 1, IntEncoding::Bool);
        let bool_ = b.add("bool", Kind::Typedef(boolean));
        let cv_bool = b.const_volatile(bool_);
        let mode = b.enumeration("exec_mode", &[("MODE_ALL", 0), ("MODE_ROOT", 1)]);
        let cv_mode = b.const_volatile(mode);
        let ch = b.int("char", 1, IntEncoding::Signed);
        let cv_char = b.const_volatile(ch);
        let prefix = b.array(cv_char, 16);
        let s8 = b.int("signed char", 1, IntEncoding::Signed);
        let cv_s8 = b.const_volatile(s8);
        let long = b.int("long long", 8, IntEncoding::Signed);
        let cv_long = b.const_volatile(long);
        let spec = |name: &str, type_id: u32, _size: u32, initial: Vec<u8>| GlobalSpec {
            name: name.into(),
            section: ".rodata".into(),
            read_only: true,
            type_id,
            initial,
        };
        let mut prefix_init = b"ba".to_vec();
        prefix_init.resize(16, 0);
        let globals = vec![
            spec("target_ppid", cv_u32, 4, 7u32.to_le_bytes().to_vec()),
            spec("flagged", cv_bool, 1, vec![0]),
            spec("mode", cv_mode, 4, 0u32.to_le_bytes().to_vec()),
            spec("comm_prefix", prefix, 16, prefix_init),
            spec("delta", cv_s8, 1, vec![0xff]),
            spec("duration", cv_long, 8, vec![0; 8]),
            GlobalSpec {
                name: "hits".into(),
                section: ".bss".into(),
                read_only: false,
                type_id: long,
                initial: vec![0; 8],
            },
        ];
        (b.build(), globals)
    }

    fn flags() -> Vec<GlobalFlag> {
        let (types, globals) = exectrace();
        let mut descriptions = HashMap::new();
        descriptions.insert("target_ppid".to_string(), "Only children of this process.".to_string());
        global_flags(&types, &globals, &descriptions)
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn set(list: &[&str]) -> Result<Vec<(String, Vec<u8>)>, String> {
        parse(&args(list), &flags()).map(|p| p.globals)
    }

    #[test]
    fn flags_come_from_read_only_globals() {
        let flags = flags();
        let summary: Vec<(&str, &str, &str)> =
            flags.iter().map(|f| (f.flag.as_str(), f.label.as_str(), f.default.as_str())).collect();
        assert_eq!(
            summary,
            [
                ("target_ppid", "u32", "7"),
                ("flagged", "bool", "false"),
                ("mode", "enum exec_mode", "MODE_ALL"),
                ("comm_prefix", "string[16]", "\"ba\""),
                ("delta", "s8", "-1"),
                // Clashes with the runner's --duration.
                ("bpf-duration", "s64", "0"),
            ]
        );
    }

    #[test]
    fn parses_every_type() {
        assert_eq!(set(&["--target_ppid", "42"]).unwrap(), [("target_ppid".into(), 42u32.to_le_bytes().to_vec())]);
        assert_eq!(set(&["--target-ppid=0x10"]).unwrap()[0].1, 16u32.to_le_bytes());
        assert_eq!(set(&["--flagged"]).unwrap()[0].1, [1]);
        assert_eq!(set(&["--flagged", "false"]).unwrap()[0].1, [0]);
        assert_eq!(set(&["--flagged=true"]).unwrap()[0].1, [1]);
        // A bool alone, then another flag.
        let both = set(&["--flagged", "--delta", "-128"]).unwrap();
        assert_eq!(both, [("flagged".into(), vec![1]), ("delta".into(), vec![0x80])]);
        assert_eq!(set(&["--mode", "MODE_ROOT"]).unwrap()[0].1, 1u32.to_le_bytes());
        assert_eq!(set(&["--mode", "root"]).unwrap()[0].1, 1u32.to_le_bytes());
        assert_eq!(set(&["--mode", "1"]).unwrap()[0].1, 1u32.to_le_bytes());
        let mut bash = b"bash".to_vec();
        bash.resize(16, 0);
        assert_eq!(set(&["--comm_prefix", "bash"]).unwrap()[0].1, bash);
        assert_eq!(set(&["--bpf-duration", "-3"]).unwrap()[0].1, (-3i64).to_le_bytes());
        // The last one wins.
        assert_eq!(set(&["--delta", "1", "--delta", "2"]).unwrap(), [("delta".into(), vec![2])]);
    }

    #[test]
    fn rejects_bad_values_clearly() {
        let err = set(&["--target_ppid", "4294967296"]).unwrap_err();
        assert_eq!(err, "bad value for --target_ppid: 4294967296 is out of range for u32 (0 to 4294967295)");
        assert!(set(&["--target_ppid", "-1"]).unwrap_err().contains("out of range"));
        assert!(set(&["--delta", "128"]).unwrap_err().contains("(-128 to 127)"));
        assert!(set(&["--target_ppid", "abc"]).unwrap_err().contains("not an integer"));
        assert!(set(&["--target_ppid"]).unwrap_err().contains("needs a value <u32>"));
        let long = set(&["--comm_prefix", "0123456789abcdef"]).unwrap_err();
        assert!(long.contains("16 bytes; string[16] holds at most 15"), "{long}");
        assert!(set(&["--comm_prefix", "0123456789abcde"]).is_ok());
        let bad_enum = set(&["--mode", "sometimes"]).unwrap_err();
        assert!(bad_enum.contains("one of MODE_ALL, MODE_ROOT"), "{bad_enum}");
        assert_eq!(set(&["--nope", "1"]).unwrap_err(), "unknown flag --nope");
        assert!(set(&["stray"]).unwrap_err().contains("unexpected argument"));
        assert!(set(&["--flagged", "maybe"]).unwrap_err().contains("\"maybe\" is not a bool"));
        assert_eq!(set(&["--hits", "1"]).unwrap_err(), "unknown flag --hits");
    }

    #[test]
    fn runner_options() {
        let p = parse(
            &args(&[
                "--json",
                "--interval",
                "2",
                "--duration=0.5",
                "--print_maps",
                "--ifname",
                "lo",
                "--uprobe",
                "/bin/bash:readline",
                "--cgroup",
                "/sys/fs/cgroup/x",
                "--perf-freq",
                "1000",
            ]),
            &flags(),
        )
        .unwrap();
        assert_eq!(
            p.options,
            Options {
                json: true,
                interval: Some(Duration::from_secs(2)),
                duration: Some(Duration::from_millis(500)),
                print_maps: true,
                ifname: Some("lo".into()),
                uprobe: Some(("/bin/bash".into(), "readline".into())),
                cgroup: Some("/sys/fs/cgroup/x".into()),
                perf_freq: 1000,
                help: false,
            }
        );
        assert_eq!(parse(&[], &flags()).unwrap().options.perf_freq, 99);
        assert!(parse(&args(&["-h"]), &flags()).unwrap().options.help);
        assert!(parse(&args(&["--duration", "0"]), &flags()).unwrap_err().contains("positive"));
        assert!(parse(&args(&["--uprobe", "readline"]), &flags()).unwrap_err().contains("BINARY:SYMBOL"));
        assert!(parse(&args(&["--json=1"]), &flags()).unwrap_err().contains("takes no value"));
        assert!(parse(&args(&["--interval"]), &flags()).unwrap_err().contains("needs a value SECS"));
    }

    #[test]
    fn help_lists_flags_with_types_descriptions_and_defaults() {
        let text = help(
            "exectrace.bpf.o",
            "exectrace.bpf.o",
            &[("handle_exec".into(), "tp/sched/sched_process_exec".into())],
            &flags(),
        );
        assert!(text.starts_with("Usage: exectrace.bpf.o [OPTIONS]\n"), "{text}");
        let line = |start: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(start))
                .unwrap_or_else(|| panic!("no line {start:?} in\n{text}"))
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(line("--target_ppid"), "--target_ppid <u32> Only children of this process. [default: 7]");
        assert_eq!(line("--flagged"), "--flagged <bool> [default: false]");
        assert_eq!(line("--mode"), "--mode <enum exec_mode> [default: MODE_ALL] [values: MODE_ALL=0, MODE_ROOT=1]");
        assert_eq!(line("--comm_prefix"), "--comm_prefix <string[16]> [default: \"ba\"]");
        assert!(line("--json").starts_with("--json print"));
        assert!(line("--perf-freq").contains("[default: 99]"));
        assert!(text.contains("handle_exec  SEC(\"tp/sched/sched_process_exec\")"));
    }

    #[test]
    fn reads_meta_descriptions() {
        let meta = br#"{"globals": {"target_ppid": {"description": "Only children\n of this."}, "x": {}}}"#;
        let mut bytes = meta.to_vec();
        bytes.extend([0, 0]);
        let d = descriptions(&bytes).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d["target_ppid"], "Only children of this.");
        assert!(descriptions(b"not json").is_err());
    }
}
