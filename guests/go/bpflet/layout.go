package bpflet

import (
	"encoding/binary"
	"reflect"
	"sync"
	"unsafe"
)

// layout is how values of one Go type map to the bytes the BPF side reads
// and writes: encoding/binary, little-endian (see the package doc).
type layout struct {
	typ  reflect.Type
	size int
	// The Go memory layout of the type is its encoding (only integers,
	// floats and arrays and structs of them, no padding; WebAssembly is
	// little-endian), so values are copied as they are.
	plain bool
	// A non-empty plain value whose bytes are aligned for it (address &
	// alignMask == 0) is read with a load instead of a copy (see decode).
	load      bool
	alignMask uintptr
}

var layouts sync.Map // reflect.Type → *layout

// layoutOf describes T, or fails when T has no fixed size.
func layoutOf[T any]() (*layout, error) {
	typ := reflect.TypeFor[T]()
	if cached, ok := layouts.Load(typ); ok {
		return cached.(*layout), nil
	}
	size := -1
	switch typ.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Interface:
		// binary.Size accepts pointers and slices, but their size is not
		// the type's: a key or value is the data itself.
	default:
		var zero T
		size = binary.Size(zero)
	}
	if size < 0 {
		return nil, invalidArgument("%v has no fixed size: use fixed-size integers, floats, bools, and arrays and structs of them", typ)
	}
	l := &layout{typ: typ, size: size, plain: isPlain(typ) && int(typ.Size()) == size, alignMask: uintptr(typ.Align() - 1)}
	l.load = l.plain && size > 0
	layouts.Store(typ, l)
	return l, nil
}

func isPlain(typ reflect.Type) bool {
	switch typ.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Array:
		return isPlain(typ.Elem())
	case reflect.Struct:
		for i := range typ.NumField() {
			if !isPlain(typ.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// encode returns the bytes of value, whose type l describes.
func encode[T any](l *layout, value T) []byte {
	if l.plain {
		return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&value)), l.size)...)
	}
	return encodeSlow(l, value)
}

// encodeSlow is encode through reflection, apart (and not inlined) so
// that value escapes to the heap only here: binary.Encode takes it as an
// interface.
//
//go:noinline
func encodeSlow[T any](l *layout, value T) []byte {
	buf := make([]byte, l.size)
	// Cannot fail: the buffer has the size binary.Size reported.
	binary.Encode(buf, binary.LittleEndian, value)
	return buf
}

// decode reads a T from the first l.size bytes of data, which must hold
// at least that many. A plain type aligned in data (records are, in
// practice) is read with a load: no copy, no allocation. (copy is a
// memory.copy call in WebAssembly, which costs several times the loads of
// a small struct; loops over records use direct, which also spares the
// call.)
func decode[T any](l *layout, data []byte) T {
	if p := unsafe.Pointer(unsafe.SliceData(data)); l.direct(p) {
		return *(*T)(p)
	}
	return decodeSlow[T](l, data)
}

// direct reports whether a value of the type can be read at p with a load.
func (l *layout) direct(p unsafe.Pointer) bool {
	return l.load && uintptr(p)&l.alignMask == 0
}

// decodeSlow is decode of a plain type by copy (unaligned data), or of
// any other through reflection; apart (see encodeSlow), since &value goes
// to binary.Decode as an interface.
//
//go:noinline
func decodeSlow[T any](l *layout, data []byte) T {
	var value T
	if l.plain {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&value)), l.size), data)
	} else {
		binary.Decode(data[:l.size], binary.LittleEndian, &value)
	}
	return value
}

// decodeExact reads a T from bytes the host returned, which must be
// exactly its size.
func decodeExact[T any](l *layout, data []byte) (T, error) {
	if len(data) != l.size {
		var zero T
		return zero, invalidArgument("host returned %d bytes for %v (%d bytes)", len(data), l.typ, l.size)
	}
	return decode[T](l, data), nil
}

// Encode returns the bytes of value as the BPF side lays them out (see the
// package doc), e.g. for a raw [Map] call or [Object.SetGlobal].
func Encode[T any](value T) ([]byte, error) {
	l, err := layoutOf[T]()
	if err != nil {
		return nil, err
	}
	return encode(l, value), nil
}

// Decode reads a T from the start of data: a record of an event buffer, a
// value of a raw map call. data may be longer than T (perf buffers pad
// every record to a multiple of 8 bytes, counting a 4-byte header); shorter
// is an invalid-argument error: T is not what the BPF program writes.
func Decode[T any](data []byte) (T, error) {
	var zero T
	l, err := layoutOf[T]()
	if err != nil {
		return zero, err
	}
	if len(data) < l.size {
		return zero, invalidArgument("record of %d bytes is shorter than %v (%d bytes)", len(data), l.typ, l.size)
	}
	return decode[T](l, data), nil
}
