package bpflet

import (
	loader "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_ebpf_loader"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// AttachTarget says where [Object.Attach] attaches a program; build one
// with the Attach* functions.
type AttachTarget = loader.AttachTarget

// Attach target parameters, as the WIT has them.
type (
	XDPMode       = loader.XdpMode
	TCDirection   = loader.TcDirection
	PerfEventKind = loader.PerfEventKind
	PerfSample    = loader.PerfSample
)

const (
	XDPDefault = loader.XdpMode_Default
	XDPGeneric = loader.XdpMode_Generic
	XDPDriver  = loader.XdpMode_Driver
	XDPOffload = loader.XdpMode_Offload

	TCIngress = loader.TcDirection_Ingress
	TCEgress  = loader.TcDirection_Egress

	PerfCPUClock     = loader.PerfEventKind_CpuClock
	PerfTaskClock    = loader.PerfEventKind_TaskClock
	PerfCPUCycles    = loader.PerfEventKind_CpuCycles
	PerfInstructions = loader.PerfEventKind_Instructions
)

// AttachAuto attaches where the program's section says, as libbpf does
// (tp/, raw_tp/, tp_btf/, kprobe/, fentry/, lsm/, uprobe/ with a path, ...).
func AttachAuto() AttachTarget { return loader.MakeAttachTargetAuto() }

// AttachTracepoint attaches to the tracepoint category/name.
func AttachTracepoint(category, name string) AttachTarget {
	return loader.MakeAttachTargetTracepoint(loader.TracepointTarget{Category: category, Name: name})
}

// AttachRawTracepoint attaches to the raw tracepoint name.
func AttachRawTracepoint(name string) AttachTarget {
	return loader.MakeAttachTargetRawTracepoint(name)
}

// AttachTpBTF attaches a BTF-typed tracepoint; the target comes from the
// program's section.
func AttachTpBTF() AttachTarget { return loader.MakeAttachTargetTpBtf() }

// AttachKprobe attaches a kprobe program to the kernel function fn.
func AttachKprobe(fn string) AttachTarget { return loader.MakeAttachTargetKprobe(fn) }

// AttachKretprobe attaches a kprobe program to the return of fn.
func AttachKretprobe(fn string) AttachTarget { return loader.MakeAttachTargetKretprobe(fn) }

// Uprobe is where a uprobe attaches.
type Uprobe struct {
	// Path of the executable or library.
	Binary string
	// Function to probe, with Offset added to its address; empty to probe
	// the file offset Offset.
	Symbol string
	Offset uint64
	// Only this process; 0 for every process.
	PID int32
	// Probe the function's return instead of its entry.
	Retprobe bool
}

// AttachUprobe attaches a uprobe or uretprobe.
func AttachUprobe(u Uprobe) AttachTarget {
	pid := witTypes.None[int32]()
	if u.PID != 0 {
		pid = witTypes.Some(u.PID)
	}
	return loader.MakeAttachTargetUprobe(loader.UprobeTarget{
		Binary: u.Binary, Symbol: optionalString(u.Symbol), Offset: u.Offset, Pid: pid, Retprobe: u.Retprobe,
	})
}

// AttachXDP attaches an XDP program to the network interface ifname.
func AttachXDP(ifname string, mode XDPMode) AttachTarget {
	return loader.MakeAttachTargetXdp(loader.XdpTarget{Ifname: ifname, Mode: mode})
}

// AttachTC attaches a tc program to ifname's ingress or egress.
func AttachTC(ifname string, direction TCDirection) AttachTarget {
	return loader.MakeAttachTargetTc(loader.TcTarget{Ifname: ifname, Direction: direction})
}

// AttachCgroup attaches to a cgroup v2 directory, e.g. /sys/fs/cgroup.
func AttachCgroup(path string) AttachTarget { return loader.MakeAttachTargetCgroup(path) }

// AttachSocketFilter attaches a socket filter (SEC("socket")) to a packet
// socket the host opens on ifname; the program sees every packet crossing
// it. Dropping the link closes the socket.
func AttachSocketFilter(ifname string) AttachTarget {
	return loader.MakeAttachTargetSocketFilter(ifname)
}

// PerfFrequency samples hz times a second.
func PerfFrequency(hz uint64) PerfSample { return loader.MakePerfSampleFrequency(hz) }

// PerfPeriod samples once every events events.
func PerfPeriod(events uint64) PerfSample { return loader.MakePerfSamplePeriod(events) }

// AttachPerfEvent attaches a perf_event program to a software or hardware
// event on cpus (nil: every online CPU).
func AttachPerfEvent(kind PerfEventKind, sample PerfSample, cpus []uint32) AttachTarget {
	list := witTypes.None[[]uint32]()
	if cpus != nil {
		list = witTypes.Some(cpus)
	}
	return loader.MakeAttachTargetPerfEvent(loader.PerfEventTarget{Kind: kind, Sample: sample, Cpus: list})
}
