package bpflet

import (
	"math"
	"time"

	signals "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_signals"
	monotonic "bpflet.dev/guests/go/bindings/imports/wasi_clocks_monotonic_clock"
	poll "bpflet.dev/guests/go/bindings/imports/wasi_io_poll"
)

// Pollable is a wasi:io/poll pollable: an event buffer's Subscribe, a
// Timer, the stop signal. Drop it when done.
type Pollable = poll.Pollable

// Wait blocks until at least one of pollables is ready and returns the
// indices of the ready ones:
//
//	records, tick := buffer.Subscribe(), bpflet.Timer(time.Second)
//	defer records.Drop()
//	defer tick.Drop()
//	for _, i := range bpflet.Wait(records, tick) {
//		// 0: records are waiting, 1: a second has passed
//	}
func Wait(pollables ...*Pollable) []int {
	ready := hostCall(func() []uint32 { return poll.Poll(pollables) })
	indices := make([]int, len(ready))
	for i, index := range ready {
		indices[i] = int(index)
	}
	return indices
}

// Timer returns a pollable that becomes ready once d has passed.
func Timer(d time.Duration) *Pollable {
	return monotonic.SubscribeDuration(nanoseconds(d))
}

// TimerAt returns a pollable that becomes ready at t.
func TimerAt(t Instant) *Pollable {
	return monotonic.SubscribeInstant(uint64(t))
}

// Sleep blocks for d.
func Sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	timer := Timer(d)
	timer.Block()
	timer.Drop()
}

// SleepUntil blocks until t.
func SleepUntil(t Instant) {
	if !Now().Before(t) {
		return
	}
	timer := TimerAt(t)
	timer.Block()
	timer.Drop()
}

// Instant is a reading of the WASI monotonic clock, in nanoseconds from an
// arbitrary start: the clock that timers and the host's waits use.
type Instant uint64

// Now reads the monotonic clock.
func Now() Instant {
	return Instant(monotonic.Now())
}

// Add is t + d, held within the clock's range rather than wrapping: a
// deadline too far away to reach is the clock's end.
func (t Instant) Add(d time.Duration) Instant {
	if d < 0 {
		back := uint64(-(d + 1)) + 1
		if back > uint64(t) {
			return 0
		}
		return t - Instant(back)
	}
	if uint64(d) > math.MaxUint64-uint64(t) {
		return math.MaxUint64
	}
	return t + Instant(d)
}

// Sub is t - u, held within time.Duration's range.
func (t Instant) Sub(u Instant) time.Duration {
	if t >= u {
		if uint64(t-u) > math.MaxInt64 {
			return math.MaxInt64
		}
		return time.Duration(t - u)
	}
	if uint64(u-t) > math.MaxInt64 {
		return math.MinInt64
	}
	return -time.Duration(u - t)
}

// Before reports whether t is earlier than u.
func (t Instant) Before(u Instant) bool { return t < u }

// Until is the time left until t, 0 once t has passed.
func Until(t Instant) time.Duration {
	return max(t.Sub(Now()), 0)
}

func nanoseconds(d time.Duration) uint64 {
	return uint64(max(d, 0))
}

// StopRequested reports whether the host was asked to stop the program
// (SIGINT, SIGTERM). Calling it (or SubscribeStop) opts in to the clean
// stop: the first signal then only marks the stop and cuts a blocking Poll
// short, so the program can finish its work (print final counts) and
// return; a second signal, or a program not done within the host's grace
// period, stops it at once. Without the opt-in a signal stops it at once.
func StopRequested() bool {
	return signals.StopRequested()
}

// SubscribeStop returns a pollable that is ready once a stop was requested,
// to [Wait] on it together with event buffers and timers. It opts in to the
// clean stop, as StopRequested does.
func SubscribeStop() *Pollable {
	return signals.SubscribeStop()
}
