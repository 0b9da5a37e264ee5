package bpflet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"slices"
	"strings"
	"unsafe"

	maps "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_maps"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Types of the maps interface, as the bindings have them.
type (
	MapInfo    = maps.MapInfo
	MapType    = maps.MapType
	UpdateFlag = maps.UpdateFlag
	Entries    = maps.Entries
)

// How an update treats an existing element (BPF_ANY, BPF_NOEXIST, BPF_EXIST).
const (
	UpdateAny     = maps.UpdateFlag_Any
	UpdateNoExist = maps.UpdateFlag_NoExist
	UpdateExist   = maps.UpdateFlag_Exist
)

// The map types the typed maps and event buffers view.
const (
	MapTypeHash           = maps.MapType_Hash
	MapTypeLRUHash        = maps.MapType_LruHash
	MapTypePerCPUHash     = maps.MapType_PercpuHash
	MapTypeLRUPerCPUHash  = maps.MapType_LruPercpuHash
	MapTypeArray          = maps.MapType_Array
	MapTypePerCPUArray    = maps.MapType_PercpuArray
	MapTypeRingBuf        = maps.MapType_Ringbuf
	MapTypePerfEventArray = maps.MapType_PerfEventArray
)

// mapTypeNames spells map types as the WIT does, for messages. Keyed by
// the generated constants so that a case renamed in the WIT fails to build.
var mapTypeNames = map[MapType]string{
	maps.MapType_Unspec:              "unspec",
	maps.MapType_Hash:                "hash",
	maps.MapType_Array:               "array",
	maps.MapType_ProgArray:           "prog-array",
	maps.MapType_PerfEventArray:      "perf-event-array",
	maps.MapType_PercpuHash:          "percpu-hash",
	maps.MapType_PercpuArray:         "percpu-array",
	maps.MapType_StackTrace:          "stack-trace",
	maps.MapType_CgroupArray:         "cgroup-array",
	maps.MapType_LruHash:             "lru-hash",
	maps.MapType_LruPercpuHash:       "lru-percpu-hash",
	maps.MapType_LpmTrie:             "lpm-trie",
	maps.MapType_ArrayOfMaps:         "array-of-maps",
	maps.MapType_HashOfMaps:          "hash-of-maps",
	maps.MapType_Devmap:              "devmap",
	maps.MapType_Sockmap:             "sockmap",
	maps.MapType_Cpumap:              "cpumap",
	maps.MapType_Xskmap:              "xskmap",
	maps.MapType_Sockhash:            "sockhash",
	maps.MapType_CgroupStorage:       "cgroup-storage",
	maps.MapType_ReuseportSockarray:  "reuseport-sockarray",
	maps.MapType_PercpuCgroupStorage: "percpu-cgroup-storage",
	maps.MapType_Queue:               "queue",
	maps.MapType_Stack:               "stack",
	maps.MapType_SkStorage:           "sk-storage",
	maps.MapType_DevmapHash:          "devmap-hash",
	maps.MapType_StructOps:           "struct-ops",
	maps.MapType_Ringbuf:             "ringbuf",
	maps.MapType_InodeStorage:        "inode-storage",
	maps.MapType_TaskStorage:         "task-storage",
	maps.MapType_BloomFilter:         "bloom-filter",
	maps.MapType_UserRingbuf:         "user-ringbuf",
	maps.MapType_CgrpStorage:         "cgrp-storage",
	maps.MapType_Arena:               "arena",
	maps.MapType_Unknown:             "unknown",
}

// MapTypeName spells t as the WIT does, e.g. "percpu-hash".
func MapTypeName(t MapType) string {
	if name, ok := mapTypeNames[t]; ok {
		return name
	}
	return fmt.Sprintf("map-type-%d", t)
}

// page is how many elements a walk fetches per host call: enough to
// amortise the crossing, few enough to keep pages cheap.
const page = 256

// Map is a BPF map with raw byte keys and values in the BPF program's
// layout. The typed maps build on it.
type Map struct {
	raw *maps.BpfMap
	// Where lookups and updates receive their results (see abi.go), and
	// how many bytes of results a call can have: set on first use.
	results     arena
	resultBytes int
}

// Info describes the map: type, sizes, kernel id, possible CPUs.
func (m *Map) Info() MapInfo {
	return hostCall(m.raw.Info)
}

// size sizes the result arena from the map's info: a value, or for a
// per-CPU map one value per possible CPU, back to back.
func (m *Map) size(info MapInfo) {
	m.resultBytes = valuesPerElement(info) * int(info.ValueSize)
	m.results.reserve(m.resultBytes)
}

// valuesPerElement is how many values an element of the map holds: one
// per possible CPU for a per-CPU map (map-info.per-cpu), one otherwise.
func valuesPerElement(info MapInfo) int {
	if info.PerCpu {
		return int(max(info.PossibleCpus, 1))
	}
	return 1
}

// acquire is the arena for one call's results, to release once they are
// copied out: the map's own, or, if a goroutine switched out meanwhile is
// still reading its results from it, a new one.
func (m *Map) acquire() *arena {
	if m.resultBytes == 0 {
		m.size(m.Info())
	}
	a := &m.results
	if a.busy {
		a = new(arena)
		a.reserve(m.resultBytes)
	}
	a.busy = true
	return a
}

func (a *arena) release() {
	a.busy = false
}

// Lookup returns the value under key; false when there is none.
func (m *Map) Lookup(key []byte) ([]byte, bool, error) {
	a := m.acquire()
	defer a.release()
	pointer, length := bytesArg(key)
	value, ok, err := mapLookup(m.raw, a, pointer, length)
	return bytes.Clone(value), ok, err
}

// Update stores value under key; flag says whether key must be new or
// present.
func (m *Map) Update(key, value []byte, flag UpdateFlag) error {
	a := m.acquire()
	defer a.release()
	keyPointer, keyLength := bytesArg(key)
	valuePointer, valueLength := bytesArg(value)
	return mapUpdate(m.raw, a, keyPointer, keyLength, valuePointer, valueLength, flag)
}

// Delete removes key; a not-found error when it was absent.
func (m *Map) Delete(key []byte) error {
	a := m.acquire()
	defer a.release()
	pointer, length := bytesArg(key)
	return mapDelete(m.raw, a, pointer, length)
}

// LookupAndDelete removes key and returns what it held (hash maps, queues,
// stacks); false when there was nothing.
func (m *Map) LookupAndDelete(key []byte) ([]byte, bool, error) {
	value, err := result(hostCall(func() witTypes.Result[witTypes.Option[[]byte], witError] {
		return m.raw.LookupAndDelete(key)
	}))
	return value.SomeOr(nil), value.IsSome(), err
}

// LookupPerCPU returns the values of a per-CPU map under key: one per
// possible CPU, value-size bytes each, back to back (CPU c's at
// c*value-size); false when there are none.
func (m *Map) LookupPerCPU(key []byte) ([]byte, bool, error) {
	a := m.acquire()
	defer a.release()
	pointer, length := bytesArg(key)
	values, ok, err := mapLookupPerCPU(m.raw, a, pointer, length)
	return bytes.Clone(values), ok, err
}

// UpdatePerCPU stores one value per possible CPU under key, laid out as
// LookupPerCPU returns them.
func (m *Map) UpdatePerCPU(key, values []byte, flag UpdateFlag) error {
	return check(hostCall(func() witTypes.Result[witTypes.Unit, witError] {
		return m.raw.UpdatePerCpu(key, values, flag)
	}))
}

// KeysAfter returns up to max keys that follow after (from the start when
// after is nil), packed back to back. Fewer than max keys means the walk is
// over.
func (m *Map) KeysAfter(after []byte, max uint32) ([]byte, error) {
	return result(hostCall(func() witTypes.Result[[]byte, witError] {
		return m.raw.Keys(optionalBytes(after), max)
	}))
}

// LookupBatch is one kernel batch lookup of up to max elements, from the
// cursor a previous page returned (nil: from the start). Values are packed
// as in LookupPerCPU, element after element, for per-CPU maps.
func (m *Map) LookupBatch(cursor []byte, max uint32) (Entries, error) {
	return result(hostCall(func() witTypes.Result[Entries, witError] {
		return m.raw.LookupBatch(optionalBytes(cursor), max)
	}))
}

// UpdateBatch writes many elements (packed keys and values) in one kernel
// call and returns how many were written.
func (m *Map) UpdateBatch(keys, values []byte, flag UpdateFlag) (uint32, error) {
	return result(hostCall(func() witTypes.Result[uint32, witError] {
		return m.raw.UpdateBatch(keys, values, flag)
	}))
}

// DeleteBatch deletes many packed keys in one kernel call and returns how
// many were deleted.
func (m *Map) DeleteBatch(keys []byte) (uint32, error) {
	return result(hostCall(func() witTypes.Result[uint32, witError] { return m.raw.DeleteBatch(keys) }))
}

// Freeze makes the map read-only for user space.
func (m *Map) Freeze() error {
	return check(hostCall(m.raw.Freeze))
}

// Raw is the map as the bindings have it.
func (m *Map) Raw() *maps.BpfMap {
	return m.raw
}

// Close releases the handle; the map lives on while its object or another
// handle holds it. Safe to call more than once.
func (m *Map) Close() {
	m.raw.Drop()
}

func optionalBytes(b []byte) witTypes.Option[[]byte] {
	if b == nil {
		return witTypes.None[[]byte]()
	}
	return witTypes.Some(b)
}

// view is what every typed map holds: the map, its info when the view was
// made, and the layouts of its key and value.
type view struct {
	m     *Map
	info  MapInfo
	key   *layout
	value *layout
	// Values per element: possible CPUs for a per-CPU map, otherwise 1.
	cpus int
	// The map's word handle, when keys and values are plain and fit in 8
	// bytes: lookups and updates then go through lookup-word/update-word,
	// which skip the cost of a method call (the resource borrow, the
	// returned list).
	word    uint32
	hasWord bool
}

// newView checks m against a typed map's expectations: map type, whether
// it is per-CPU (map-info.per-cpu), key size (K; arrays use their uint32
// index), value size (V, of one CPU for a per-CPU map).
func newView[K, V any](m *Map, wrapper string, perCPU bool, types ...MapType) (view, error) {
	key, err := layoutOf[K]()
	if err != nil {
		return view{}, err
	}
	value, err := layoutOf[V]()
	if err != nil {
		return view{}, err
	}
	info := m.Info()
	if !slices.Contains(types, info.MapType) {
		names := make([]string, len(types))
		for i, t := range types {
			names[i] = MapTypeName(t)
		}
		return view{}, invalidArgument("map %q is %s, not a map %s can view (one of %v)",
			info.Name, MapTypeName(info.MapType), wrapper, names)
	}
	if info.PerCpu != perCPU {
		what, other := "per-CPU", "PerCPU"+wrapper
		if perCPU {
			what, other = "not per-CPU", strings.TrimPrefix(wrapper, "PerCPU")
		}
		return view{}, invalidArgument("map %q (%s) is %s: view it with %s", info.Name, MapTypeName(info.MapType), what, other)
	}
	if int(info.KeySize) != key.size {
		return view{}, invalidArgument("map %q has %d-byte keys, %v is %d bytes", info.Name, info.KeySize, key.typ, key.size)
	}
	if int(info.ValueSize) != value.size {
		return view{}, invalidArgument("map %q has %d-byte values, %v is %d bytes", info.Name, info.ValueSize, value.typ, value.size)
	}
	m.size(info)
	v := view{m: m, info: info, key: key, value: value, cpus: valuesPerElement(info)}
	if key.plain && value.plain && key.size <= 8 && value.size <= 8 && !info.PerCpu {
		handle, err := result(hostCall(func() witTypes.Result[uint32, witError] { return m.raw.WordHandle() }))
		v.word, v.hasWord = handle, err == nil
	}
	return v, nil
}

// lookup decodes the value under key; false when there is none.
func lookup[K, V any](v *view, key K) (V, bool, error) {
	var zero V
	a := v.m.acquire()
	defer a.release()
	pointer, length := argOf(v.key, &key)
	if v.hasWord {
		found, ok, err := mapLookupWord(a, v.word, word(pointer, length))
		if err != nil || !ok {
			return zero, false, err
		}
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], found)
		value, err := decodeExact[V](v.value, buf[:v.value.size])
		return value, err == nil, err
	}
	bytes, ok, err := mapLookup(v.m.raw, a, pointer, length)
	if err != nil || !ok {
		return zero, false, err
	}
	value, err := decodeExact[V](v.value, bytes)
	return value, err == nil, err
}

// lookupPerCPU decodes the values of every CPU under key.
func lookupPerCPU[K, V any](v *view, key K) ([]V, bool, error) {
	a := v.m.acquire()
	defer a.release()
	pointer, length := argOf(v.key, &key)
	packed, ok, err := mapLookupPerCPU(v.m.raw, a, pointer, length)
	if err != nil || !ok {
		return nil, false, err
	}
	values, err := decodePerCPU[V](v.value, v.cpus, packed)
	return values, err == nil, err
}

// update stores value under key as flag says.
func update[K, V any](v *view, key K, value V, flag UpdateFlag) error {
	a := v.m.acquire()
	defer a.release()
	keyPointer, keyLength := argOf(v.key, &key)
	valuePointer, valueLength := argOf(v.value, &value)
	if v.hasWord {
		return mapUpdateWord(a, v.word, word(keyPointer, keyLength), word(valuePointer, valueLength), flag)
	}
	return mapUpdate(v.m.raw, a, keyPointer, keyLength, valuePointer, valueLength, flag)
}

// updatePerCPU stores values, one per possible CPU, under key as flag
// says.
func updatePerCPU[K, V any](v *view, key K, values []V, flag UpdateFlag) error {
	if len(values) != v.cpus {
		return invalidArgument("%d values for map %q, which holds one per possible CPU (%d)", len(values), v.info.Name, v.cpus)
	}
	return v.m.UpdatePerCPU(encode(v.key, key), encodePerCPU(v.value, values), flag)
}

// remove deletes key.
func remove[K any](v *view, key K) error {
	a := v.m.acquire()
	defer a.release()
	pointer, length := argOf(v.key, &key)
	return mapDelete(v.m.raw, a, pointer, length)
}

// Map is the untyped map, for calls the view does not offer.
func (v *view) Map() *Map { return v.m }

// Info is the map's info as it was when the view was made.
func (v *view) Info() MapInfo { return v.info }

// Close releases the map handle.
func (v *view) Close() { v.m.Close() }

// keys walks the map's keys a page at a time with keys(after, max). A
// failure ends the walk, yielded as the last pair's error.
func keys[K any](v *view) iter.Seq2[K, error] {
	return func(yield func(K, error) bool) {
		var zero K
		var after []byte
		for {
			packed, err := v.m.KeysAfter(after, page)
			if err != nil {
				yield(zero, err)
				return
			}
			size := v.key.size
			if len(packed)%size != 0 || len(packed)/size > page {
				yield(zero, invalidArgument("host returned %d bytes of %d-byte keys", len(packed), size))
				return
			}
			for offset := 0; offset < len(packed); offset += size {
				if !yield(decode[K](v.key, packed[offset:offset+size]), nil) {
					return
				}
			}
			// Fewer keys than asked for: that was the last page.
			if len(packed)/size < page {
				return
			}
			after = packed[len(packed)-size:]
		}
	}
}

// entries walks the map's elements a page at a time with one kernel batch
// lookup per page. decodeValue gets each element's value bytes (one value,
// or one per CPU). A failure ends the walk, yielded as the last pair's
// error.
func entries[K, V any](v *view, decodeValue func([]byte) (V, error)) iter.Seq2[Entry[K, V], error] {
	return func(yield func(Entry[K, V], error) bool) {
		// The pages land in one arena (the cursor is copied out of it).
		var results arena
		var cursor []byte
		for {
			batch, err := mapLookupBatch(v.m.raw, &results, cursor, page)
			if err != nil {
				yield(Entry[K, V]{}, err)
				return
			}
			// One value per element, or one per possible CPU.
			count, stride := int(batch.Count), v.cpus*v.value.size
			if len(batch.Keys) != count*v.key.size || len(batch.Values) != count*stride {
				yield(Entry[K, V]{}, invalidArgument("host returned %d elements with %d key bytes and %d value bytes",
					count, len(batch.Keys), len(batch.Values)))
				return
			}
			for i := range count {
				key := decode[K](v.key, batch.Keys[i*v.key.size:])
				value, err := decodeValue(batch.Values[i*stride : (i+1)*stride])
				if err != nil {
					yield(Entry[K, V]{}, err)
					return
				}
				if !yield(Entry[K, V]{Key: key, Value: value}, nil) {
					return
				}
			}
			if !batch.Next.IsSome() {
				return
			}
			cursor = append(cursor[:0], batch.Next.Some()...)
		}
	}
}

// Entry is one element of a map walk.
type Entry[K, V any] struct {
	Key   K
	Value V
}

// decodePerCPU reads the values of one element of a per-CPU map, one per
// possible CPU, packed back to back as lookup-per-cpu returns them and
// batch pages hold them. A plain V is one copy of the whole run.
func decodePerCPU[V any](l *layout, cpus int, packed []byte) ([]V, error) {
	if cpus <= 0 || len(packed) != cpus*l.size {
		return nil, invalidArgument("host returned %d bytes for %d per-CPU values of %d bytes", len(packed), cpus, l.size)
	}
	values := make([]V, cpus)
	if l.plain {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(values))), len(packed)), packed)
		return values, nil
	}
	for cpu := range values {
		values[cpu] = decode[V](l, packed[cpu*l.size:])
	}
	return values, nil
}

// encodePerCPU lays values out as update-per-cpu takes them: back to back.
// A plain V's slice is that layout already and is passed as it is.
func encodePerCPU[V any](l *layout, values []V) []byte {
	if l.plain {
		return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(values))), len(values)*l.size)
	}
	packed := make([]byte, len(values)*l.size)
	for cpu, value := range values {
		// Cannot fail: the room is what binary.Size reported.
		binary.Encode(packed[cpu*l.size:(cpu+1)*l.size], binary.LittleEndian, value)
	}
	return packed
}

// The map types the typed maps view: whether one is per-CPU comes from
// map-info.per-cpu.
var (
	hashTypes  = []MapType{MapTypeHash, MapTypeLRUHash, MapTypePerCPUHash, MapTypeLRUPerCPUHash}
	arrayTypes = []MapType{MapTypeArray, MapTypePerCPUArray}
)

// HashMap is a BPF_MAP_TYPE_HASH or BPF_MAP_TYPE_LRU_HASH map with keys K
// and values V.
type HashMap[K, V any] struct {
	view
}

// NewHashMap views m; an invalid-argument error when its type or sizes do
// not fit K and V.
func NewHashMap[K, V any](m *Map) (*HashMap[K, V], error) {
	v, err := newView[K, V](m, "HashMap", false, hashTypes...)
	if err != nil {
		return nil, err
	}
	return &HashMap[K, V]{v}, nil
}

// Get returns the value under key; false when there is none.
func (h *HashMap[K, V]) Get(key K) (V, bool, error) {
	return lookup[K, V](&h.view, key)
}

// Insert stores value under key, replacing what was there.
func (h *HashMap[K, V]) Insert(key K, value V) error {
	return h.Update(key, value, UpdateAny)
}

// Update stores value under key; flag says whether key must be new
// (already-exists otherwise) or present (not-found otherwise).
func (h *HashMap[K, V]) Update(key K, value V, flag UpdateFlag) error {
	return update(&h.view, key, value, flag)
}

// Remove deletes key; a not-found error when it was absent.
func (h *HashMap[K, V]) Remove(key K) error {
	return remove(&h.view, key)
}

// Keys walks the keys a page at a time; not a snapshot: keys added or
// removed meanwhile may or may not show up.
func (h *HashMap[K, V]) Keys() iter.Seq2[K, error] {
	return keys[K](&h.view)
}

// All walks the elements, one kernel batch lookup per page; like Keys, not
// a snapshot. A failure ends the walk with a non-nil error:
//
//	for entry, err := range counts.All() {
//		if err != nil { return err }
//		use(entry.Key, entry.Value)
//	}
func (h *HashMap[K, V]) All() iter.Seq2[Entry[K, V], error] {
	return entries[K](&h.view, func(bytes []byte) (V, error) { return decodeExact[V](h.value, bytes) })
}

// PerCPUHashMap is a BPF_MAP_TYPE_PERCPU_HASH or
// BPF_MAP_TYPE_LRU_PERCPU_HASH map: every key holds one V per possible CPU,
// which BPF programs update without atomics. Sum (or otherwise merge) them
// in user space.
type PerCPUHashMap[K, V any] struct {
	view
}

// NewPerCPUHashMap views m; an invalid-argument error when its type or
// sizes do not fit K and V.
func NewPerCPUHashMap[K, V any](m *Map) (*PerCPUHashMap[K, V], error) {
	v, err := newView[K, V](m, "PerCPUHashMap", true, hashTypes...)
	if err != nil {
		return nil, err
	}
	return &PerCPUHashMap[K, V]{v}, nil
}

// Get returns the values under key, one per possible CPU; false when there
// are none.
func (h *PerCPUHashMap[K, V]) Get(key K) ([]V, bool, error) {
	return lookupPerCPU[K, V](&h.view, key)
}

// Insert stores values under key, one per possible CPU
// (Info().PossibleCpus of them), replacing what was there.
func (h *PerCPUHashMap[K, V]) Insert(key K, values []V) error {
	return h.Update(key, values, UpdateAny)
}

// Update stores values under key, one per possible CPU, as flag says.
func (h *PerCPUHashMap[K, V]) Update(key K, values []V, flag UpdateFlag) error {
	return updatePerCPU(&h.view, key, values, flag)
}

// Remove deletes key; a not-found error when it was absent.
func (h *PerCPUHashMap[K, V]) Remove(key K) error {
	return remove(&h.view, key)
}

// Keys walks the keys a page at a time; not a snapshot.
func (h *PerCPUHashMap[K, V]) Keys() iter.Seq2[K, error] {
	return keys[K](&h.view)
}

// All walks the elements with their per-CPU values, one kernel batch
// lookup per page; not a snapshot. A failure ends the walk with a non-nil
// error.
func (h *PerCPUHashMap[K, V]) All() iter.Seq2[Entry[K, []V], error] {
	return entries[K](&h.view, func(bytes []byte) ([]V, error) { return decodePerCPU[V](h.value, h.cpus, bytes) })
}

// Array is a BPF_MAP_TYPE_ARRAY: Len values V, indexed from 0, all of which
// always exist (zeroed until written).
type Array[V any] struct {
	view
}

// NewArray views m; an invalid-argument error when its type or value size
// do not fit.
func NewArray[V any](m *Map) (*Array[V], error) {
	v, err := newView[uint32, V](m, "Array", false, arrayTypes...)
	if err != nil {
		return nil, err
	}
	return &Array[V]{v}, nil
}

// Len is the number of elements (max_entries).
func (a *Array[V]) Len() uint32 {
	return a.info.MaxEntries
}

// Get returns the value at index; a not-found error when index is out of
// range.
func (a *Array[V]) Get(index uint32) (V, error) {
	value, ok, err := lookup[uint32, V](&a.view, index)
	if err == nil && !ok {
		err = outOfRange(index, a.info)
	}
	return value, err
}

// Set writes the value at index.
func (a *Array[V]) Set(index uint32, value V) error {
	return update(&a.view, index, value, UpdateAny)
}

// PerCPUArray is a BPF_MAP_TYPE_PERCPU_ARRAY: like Array, with one V per
// possible CPU at every index.
type PerCPUArray[V any] struct {
	view
}

// NewPerCPUArray views m; an invalid-argument error when its type or value
// size do not fit.
func NewPerCPUArray[V any](m *Map) (*PerCPUArray[V], error) {
	v, err := newView[uint32, V](m, "PerCPUArray", true, arrayTypes...)
	if err != nil {
		return nil, err
	}
	return &PerCPUArray[V]{v}, nil
}

// Len is the number of elements (max_entries).
func (a *PerCPUArray[V]) Len() uint32 {
	return a.info.MaxEntries
}

// Get returns the values at index, one per possible CPU; a not-found error
// when index is out of range.
func (a *PerCPUArray[V]) Get(index uint32) ([]V, error) {
	values, ok, err := lookupPerCPU[uint32, V](&a.view, index)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, outOfRange(index, a.info)
	}
	return values, nil
}

// Set writes values at index, one per possible CPU.
func (a *PerCPUArray[V]) Set(index uint32, values []V) error {
	return updatePerCPU(&a.view, index, values, UpdateAny)
}

func outOfRange(index uint32, info MapInfo) error {
	return notFound("index %d is out of range for map %q of %d elements", index, info.Name, info.MaxEntries)
}
