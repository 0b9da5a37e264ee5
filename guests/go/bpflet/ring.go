package bpflet

import (
	"errors"
	"sync/atomic"
	"time"
	"unsafe"
)

// RingReader reads a ring buffer (BPF_MAP_TYPE_RINGBUF) in place: the host
// maps the ring's own pages into guest memory (event-buffer.map-ring), so a
// record is read where the BPF program wrote it, with no copy and no host
// call per record or per batch. The fastest way to drain a busy ring
// buffer; [EventBuffer.Poll] is the simple one, and reads perf buffers too.
//
//	ring, err := bpflet.OpenRingReader(events)
//	...
//	defer ring.Close()
//	for {
//		ring.Wait(time.Second)
//		for record := ring.Next(); record != nil; record = ring.Next() {
//			... // the record's bytes, read-only
//		}
//		ring.Release()
//	}
//
// Records stay where they are (and valid) until Release hands their space
// back to the kernel: release after each batch, or the producer finds the
// ring full. A record's bytes are the ring's read-only pages: writing to
// them traps. In place, payloads are 8-byte aligned; polled records are
// packed by their length (ConsumeRecords checks).
//
// map-ring is a grant (bpflet run --allow map-ring): without it the reader
// polls instead, up to RingPollBatch records at a time, behind the same
// calls (InPlace says which); Next then returns nil at the end of a batch
// until Release.
//
// The positions are read and written as libbpf does: the producer position
// with an acquire load, the consumer position with a release store
// (sync/atomic), so a record's space is handed back only once it was read.
// Each record's header is a plain load, where the Rust and C SDKs use an
// acquire load: Go makes every sync/atomic load a function call on wasm (two,
// in fact, and Next then no longer inlines), which costs a fifth of a busy
// ring's throughput, while the code it runs is the same plain load (wasm
// without threads has no other). The record is read only after its header
// said the kernel committed it.
type RingReader struct {
	buffer *EventBuffer
	// The guest memory the ring is mapped over (see openRings).
	region   []byte
	consumer *uint64
	producer *uint64
	data     unsafe.Pointer
	mask     uint64
	// The next record to read, and the producer position last seen. When
	// polling: the next record's index in polled, and 0.
	pos, end uint64
	// Not nil when map-ring was not granted: the batch being read, polled
	// by the first Next after a Release that finished the last one (held
	// says whether one is).
	polled *Batch
	held   bool
	// The error of a poll that failed since Err last asked.
	failed error
}

// RingPollBatch is how many records a RingReader asks for per poll when
// map-ring is not granted.
const RingPollBatch = 4096

// The header of a ring buffer record (the kernel's uapi linux/bpf.h).
const (
	ringBusyBit    = 1 << 31
	ringDiscardBit = 1 << 30
	ringHeaderLen  = 8
)

// openRings holds every open RingReader until Close. A mapped reader's
// region is Go heap memory with the ring's pages mapped over it, which the
// garbage collector must not free (and hand out again) while they are
// there: only dropping the event buffer puts ordinary memory back. A reader
// that is never closed stays mapped until the program ends. RowsOf looks
// here for the memory records lie in.
var openRings = map[*RingReader]struct{}{}

// memory is where the reader's records lie: its mapped region, or the
// batch it polled.
func (r *RingReader) memory() []byte {
	if r.polled != nil {
		return r.polled.data
	}
	return r.region
}

// OpenRingReader opens the ring buffer m and maps it into guest memory. A
// perf buffer is unsupported (Poll it).
func OpenRingReader(m *Map) (*RingReader, error) {
	buffer, err := OpenEventBuffer(m)
	if err != nil {
		return nil, err
	}
	pages, err := result(hostCall(buffer.raw.MapRing))
	if errors.Is(err, ErrPermissionDenied) && buffer.Kind() == RingBuffer {
		// Not granted: polled instead, behind the same calls.
		r := &RingReader{buffer: buffer, polled: new(Batch)}
		openRings[r] = struct{}{}
		return r, nil
	}
	if err != nil {
		buffer.Close()
		return nil, err
	}
	// The pages start at the region's first page boundary: consumer page,
	// producer page, then the data area mapped twice.
	region := pages.Region
	page, size := uintptr(pages.PageSize), uintptr(pages.Size)
	base := unsafe.Pointer(unsafe.SliceData(region))
	powers := page != 0 && page&(page-1) == 0 && size != 0 && size&(size-1) == 0
	var at uintptr
	if powers {
		at = -uintptr(base) & (page - 1)
	}
	if !powers || uintptr(len(region)) < at || (uintptr(len(region))-at)/2 < page+size {
		// Whatever the host mapped, closing the buffer puts it back.
		r := &RingReader{buffer: buffer, region: region}
		r.Close()
		return nil, invalidArgument("host mapped a ring of %d bytes (pages of %d) into a region of %d bytes",
			size, page, len(region))
	}
	start := unsafe.Add(base, at)
	r := &RingReader{
		buffer:   buffer,
		region:   region,
		consumer: (*uint64)(start),
		producer: (*uint64)(unsafe.Add(start, page)),
		data:     unsafe.Add(start, 2*page),
		mask:     uint64(size - 1),
	}
	r.pos = atomic.LoadUint64(r.consumer)
	r.end = r.pos
	openRings[r] = struct{}{}
	return r, nil
}

// Next returns the next submitted record, or nil when there is none yet:
// nothing written, or the next record not yet submitted. Discarded records
// are skipped. The slice is the ring's memory, valid until Release.
//
// The producer position is read once per run of records it covers, each
// header once per record, with an acquire load (sync/atomic; in Go on
// WebAssembly each is a function call, the price of the ordering).
func (r *RingReader) Next() []byte {
	for {
		if r.pos >= r.end {
			// Polling, pos >= end always: every call lands here, and
			// takes the held batch's next record without another call
			// (poll is one when no batch is held).
			if b := r.polled; b != nil {
				if !r.held && !r.poll() {
					return nil
				}
				i := r.pos
				if i >= uint64(len(b.offsets)) {
					return nil
				}
				r.pos++
				return b.Record(int(i))
			}
			if r.end = atomic.LoadUint64(r.producer); r.pos >= r.end {
				return nil
			}
		}
		header := unsafe.Add(r.data, r.pos&r.mask)
		word := *(*uint32)(header) // a plain load: see RingReader
		if word&ringBusyBit != 0 {
			return nil
		}
		size := word &^ (ringBusyBit | ringDiscardBit)
		r.pos += (uint64(size) + ringHeaderLen + 7) &^ 7
		if word&ringDiscardBit == 0 {
			// Not unsafe.Slice, whose overflow check is a call in
			// WebAssembly: sizes are below the ring's, under 4 GiB.
			return (*[1 << 32]byte)(unsafe.Add(header, ringHeaderLen))[:size:size]
		}
	}
}

// Release hands the space of every record Next returned back to the
// kernel; those records are no longer to be read.
func (r *RingReader) Release() {
	if r.polled != nil {
		// A batch goes once all of it was read: the records past pos are
		// the next calls'.
		if r.held && r.pos >= uint64(r.polled.Len()) {
			r.held, r.pos = false, 0
		}
		return
	}
	atomic.StoreUint64(r.consumer, r.pos)
}

// poll polls the next batch; true when it has records (it is then held,
// read from its first). An empty (or failed) poll is no record now, and
// the next call polls again.
func (r *RingReader) poll() bool {
	if err := r.buffer.PollInto(r.polled, 0, RingPollBatch); err != nil {
		r.failed = err
	}
	if r.polled.Len() == 0 {
		return false
	}
	r.held, r.pos = true, 0
	return true
}

// Err returns the error of the last poll that failed since the last call,
// if one did, and forgets it. A polled reader's Next reads a failed poll as
// "no record now" (the loop around it goes on); a program that must know
// asks here. A reader in place never fails this way.
func (r *RingReader) Err() error {
	err := r.failed
	r.failed = nil
	return err
}

// InPlace reports whether records are read in place (map-ring granted)
// rather than polled.
func (r *RingReader) InPlace() bool {
	return r.polled == nil
}

// Consume calls f with each waiting record, at most max of them (0: all
// that are there), then releases them; it returns how many there were. The
// slice is only valid during the call.
func (r *RingReader) Consume(max int, f func(record []byte)) int {
	count := 0
	for ; max == 0 || count < max; count++ {
		record := r.Next()
		if record == nil {
			break
		}
		f(record)
	}
	r.Release()
	return count
}

// ConsumeRecords is Consume with each record read as a T from its start
// (see [Decode]). A record shorter than T is an invalid-argument error and
// stops: the records before it are consumed, it and the ones after are not.
func ConsumeRecords[T any](r *RingReader, max int, f func(T)) (int, error) {
	l, err := layoutOf[T]()
	if err != nil {
		return 0, err
	}
	count := 0
	for ; max == 0 || count < max; count++ {
		pos := r.pos
		record := r.Next()
		if record == nil {
			break
		}
		if len(record) < l.size {
			r.pos = pos
			r.Release()
			return count, invalidArgument("record of %d bytes is shorter than %v (%d bytes)", len(record), l.typ, l.size)
		}
		// In place, payloads are 8-byte aligned: a plain T is a load.
		if p := unsafe.Pointer(unsafe.SliceData(record)); l.direct(p) {
			f(*(*T)(p))
		} else {
			f(decodeSlow[T](l, record))
		}
	}
	r.Release()
	return count, nil
}

// Ready reports whether a record is waiting for Next.
func (r *RingReader) Ready() bool {
	if r.polled != nil {
		// A held batch: exactly whether Next has a record for now.
		if r.held {
			return r.pos < uint64(r.polled.Len())
		}
		return recordsWaiting(r.buffer)
	}
	pos := r.pos
	return pos < atomic.LoadUint64(r.producer) &&
		*(*uint32)(unsafe.Add(r.data, pos&r.mask))&ringBusyBit == 0
}

// Wait waits up to timeout for a record; true if one is waiting.
func (r *RingReader) Wait(timeout time.Duration) bool {
	if r.Ready() {
		return true
	}
	timer := Timer(timeout)
	Wait(r.Subscribe(), timer)
	timer.Drop()
	return r.Ready()
}

// Subscribe returns a pollable that is ready when records are waiting (the
// buffer's, see [EventBuffer.Subscribe]): to [Wait] on the ring together
// with other sources.
func (r *RingReader) Subscribe() *Pollable {
	return r.buffer.Subscribe()
}

// Buffer is the event buffer underneath; Poll works on it too, and sees the
// same positions.
func (r *RingReader) Buffer() *EventBuffer {
	return r.buffer
}

// Close drops the event buffer, which unmaps the ring and puts ordinary
// memory back under its region; the region is then the garbage
// collector's, and the reader is empty. Safe to call more than once.
func (r *RingReader) Close() {
	r.buffer.Close()
	r.detach()
}

// detach points the reader at its own position, where no record ever is,
// and lets the region go.
func (r *RingReader) detach() {
	r.consumer, r.producer, r.data = &r.pos, &r.pos, unsafe.Pointer(&r.pos)
	r.mask, r.end = 0, r.pos
	r.polled, r.held = nil, false
	delete(openRings, r)
}
