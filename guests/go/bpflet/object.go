package bpflet

import (
	"encoding/binary"
	"errors"

	btf "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_btf"
	loader "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_ebpf_loader"
	maps "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_maps"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Types of the ebpf-loader interface, as the bindings have them.
type (
	ProgramInfo = loader.ProgramInfo
	GlobalInfo  = loader.GlobalInfo
	MapTypes    = loader.MapTypes
	BTFType     = btf.BtfType
)

// OpenOptions are the load options of the ebpf-loader interface; the zero
// value is the default.
type OpenOptions struct {
	// BTF to relocate against instead of /sys/kernel/btf/vmlinux.
	BTFPath string
	// Name shown for the object (defaults to the ELF's).
	ObjectName string
}

func (o OpenOptions) raw() loader.LoadOptions {
	return loader.LoadOptions{BtfPath: optionalString(o.BTFPath), ObjectName: optionalString(o.ObjectName)}
}

// OpenObject is a BPF object (the ELF clang writes) opened in the host and
// not loaded yet: set its globals and choose which programs load
// (SetGlobal, SetAutoload), then Load it, which turns it into an [Object].
// The flow is libbpf's: open, configure, load, attach.
type OpenObject struct {
	object
}

// Object is a loaded BPF object: its maps ([Object.Map]) and programs
// ([Object.Attach], [Object.AttachAll]). Close unloads its programs; maps
// stay while a [Map] of them is open, links until they are closed.
type Object struct {
	object
}

// object is what both stages offer: the host's handle, and what reads it.
type object struct {
	// nil once an OpenObject is loaded: the Object has the handle then.
	raw *loader.BpfObject
}

// GlobalReader is what [Global] reads a global from: an [OpenObject] (the
// initial value) or an [Object] (the kernel's current value).
type GlobalReader interface {
	GlobalBytes(name string) ([]byte, error)
}

// Open opens ELF bytes (typically //go:embed'ded) without loading them.
func Open(elf []byte) (*OpenObject, error) {
	return OpenWith(elf, OpenOptions{})
}

// OpenWith opens ELF bytes with options.
func OpenWith(elf []byte, options OpenOptions) (*OpenObject, error) {
	return openObject(hostCall(func() witTypes.Result[*loader.BpfObject, witError] {
		return loader.BpfObjectOpen(elf, options.raw())
	}))
}

// OpenPackaged opens an object that came with the program (a bare object
// given to `bpflet run --object`, the objects of a package) by name, without
// copying it through guest memory. [PackagedObjects] lists the names.
func OpenPackaged(name string) (*OpenObject, error) {
	return OpenPackagedWith(name, OpenOptions{})
}

// OpenPackagedWith is OpenPackaged with options.
func OpenPackagedWith(name string, options OpenOptions) (*OpenObject, error) {
	return openObject(hostCall(func() witTypes.Result[*loader.BpfObject, witError] {
		return loader.BpfObjectOpenPackaged(name, options.raw())
	}))
}

func openObject(opened witTypes.Result[*loader.BpfObject, witError]) (*OpenObject, error) {
	raw, err := result(opened)
	if err != nil {
		return nil, err
	}
	return &OpenObject{object{raw: raw}}, nil
}

// PackagedObjects names the objects that came with the program.
func PackagedObjects() []string {
	return hostCall(loader.PackagedObjects)
}

// SetGlobal sets the global name (a `const volatile` or other global) before
// Load. value is laid out as the package doc says and must have the global's
// exact size: bpflet checks.
func (o *OpenObject) SetGlobal(name string, value any) error {
	if err := o.usable(); err != nil {
		return err
	}
	bytes, err := encodeAny(value)
	if err != nil {
		return err
	}
	return check(hostCall(func() witTypes.Result[witTypes.Unit, witError] {
		return o.raw.SetGlobal(name, bytes)
	}))
}

// SetAutoload chooses whether Load loads the program (default true).
func (o *OpenObject) SetAutoload(program string, autoload bool) error {
	if err := o.usable(); err != nil {
		return err
	}
	return check(hostCall(func() witTypes.Result[witTypes.Unit, witError] {
		return o.raw.SetAutoload(program, autoload)
	}))
}

// Load creates the maps and loads every autoload program, and returns the
// loaded object. It consumes o, loaded or not: o is empty afterwards (its
// calls fail with invalid-state), and a failed load closes it. A verifier
// rejection is a load-failed [Error] that carries the log's tail.
func (o *OpenObject) Load() (*Object, error) {
	if err := o.usable(); err != nil {
		return nil, err
	}
	raw := o.raw
	o.raw = nil
	if err := check(hostCall(raw.Load)); err != nil {
		raw.Drop()
		return nil, err
	}
	return &Object{object{raw: raw}}, nil
}

// usable fails once Load has consumed an open object.
func (o *object) usable() error {
	if o.raw == nil {
		return invalidState("the object was loaded: use the *Object that Load returned")
	}
	return nil
}

// GlobalBytes reads the global name: its initial value before Load, the
// kernel's current value after (.bss and .data change as programs run).
func (o *object) GlobalBytes(name string) ([]byte, error) {
	if err := o.usable(); err != nil {
		return nil, err
	}
	return result(hostCall(func() witTypes.Result[[]byte, witError] { return o.raw.Global(name) }))
}

// Global reads the global name of an [OpenObject] or [Object] as a T, which
// must be exactly its size.
func Global[T any](o GlobalReader, name string) (T, error) {
	var zero T
	l, err := layoutOf[T]()
	if err != nil {
		return zero, err
	}
	bytes, err := o.GlobalBytes(name)
	if err != nil {
		return zero, err
	}
	if len(bytes) != l.size {
		return zero, invalidArgument("global %q is %d bytes, %v is %d", name, len(bytes), l.typ, l.size)
	}
	return decode[T](l, bytes), nil
}

// Globals lists the object's global variables (none once an OpenObject
// is loaded).
func (o *object) Globals() []GlobalInfo {
	if o.raw == nil {
		return nil
	}
	return hostCall(o.raw.Globals)
}

// Programs lists the object's programs (none once an OpenObject is
// loaded).
func (o *object) Programs() []ProgramInfo {
	if o.raw == nil {
		return nil
	}
	return hostCall(o.raw.Programs)
}

// Maps lists the object's maps (ids are 0 until Load; none once an
// OpenObject is loaded).
func (o *object) Maps() []MapInfo {
	if o.raw == nil {
		return nil
	}
	return hostCall(o.raw.Maps)
}

// BTFTypes is every type of the object's BTF, indexed by type id (entry 0
// is void); empty when the object carries no BTF (or an OpenObject is
// loaded).
func (o *object) BTFTypes() []BTFType {
	if o.raw == nil {
		return nil
	}
	return hostCall(o.raw.BtfTypes)
}

// MapTypes gives the BTF types of the map name's key and value.
func (o *object) MapTypes(name string) (MapTypes, error) {
	if err := o.usable(); err != nil {
		return MapTypes{}, err
	}
	return result(hostCall(func() witTypes.Result[MapTypes, witError] { return o.raw.MapTypes(name) }))
}

// Section is the raw bytes of the ELF section name; false when the object
// has no such section (or an OpenObject is loaded).
func (o *object) Section(name string) ([]byte, bool) {
	if o.raw == nil {
		return nil, false
	}
	section := hostCall(func() witTypes.Option[[]byte] { return o.raw.Section(name) })
	return section.SomeOr(nil), section.IsSome()
}

// Raw is the object as the bindings have it, for what this package does
// not wrap; nil once an OpenObject is loaded.
func (o *object) Raw() *loader.BpfObject {
	return o.raw
}

// Close drops the object: an OpenObject is discarded, an Object's programs
// are unloaded. Safe to call more than once, and on an OpenObject that was
// loaded (the Object is not closed then).
func (o *object) Close() {
	if o.raw != nil {
		o.raw.Drop()
	}
}

// Map opens the map name; view it through a typed map ([NewHashMap], ...)
// or use it raw.
func (o *Object) Map(name string) (*Map, error) {
	raw, err := result(hostCall(func() witTypes.Result[*maps.BpfMap, witError] { return o.raw.GetMap(name) }))
	if err != nil {
		return nil, err
	}
	return &Map{raw: raw}, nil
}

// Attach attaches the program to target.
func (o *Object) Attach(program string, target AttachTarget) (*Link, error) {
	raw, err := result(hostCall(func() witTypes.Result[*loader.Link, witError] {
		return o.raw.Attach(program, target)
	}))
	if err != nil {
		return nil, err
	}
	return &Link{raw: raw}, nil
}

// AttachAll attaches every autoload program where its section says
// ([AttachAuto]), as a libbpf skeleton's attach does. Programs whose section
// names no target (xdp, tc, ...) come back unsupported and are skipped, as
// libbpf skips them: attach those with Attach. Any other failure detaches
// what was attached and returns the error.
func (o *Object) AttachAll() (Links, error) {
	var links Links
	for _, program := range o.Programs() {
		if !program.Autoload {
			continue
		}
		link, err := o.Attach(program.Name, AttachAuto())
		if errors.Is(err, ErrUnsupported) {
			continue
		}
		if err != nil {
			links.Close()
			return nil, err
		}
		links = append(links, link)
	}
	return links, nil
}

// Link is one attachment of a program. Closing it detaches the program.
type Link struct {
	raw *loader.Link
}

// Program names the program this link attaches.
func (l *Link) Program() string {
	return hostCall(l.raw.Program)
}

// ID is the kernel's link id (`bpftool link show id N`); 0 when the
// attachment has no kernel link.
func (l *Link) ID() uint32 {
	return l.raw.Id()
}

// Raw is the link as the bindings have it.
func (l *Link) Raw() *loader.Link {
	return l.raw
}

// Close detaches the program. Safe to call more than once.
func (l *Link) Close() {
	l.raw.Drop()
}

// Links are the links of AttachAll.
type Links []*Link

// Close detaches every program.
func (links Links) Close() {
	for _, link := range links {
		link.Close()
	}
}

func optionalString(s string) witTypes.Option[string] {
	if s == "" {
		return witTypes.None[string]()
	}
	return witTypes.Some(s)
}

// encodeAny lays out a value of any fixed-size type (see the package doc).
func encodeAny(value any) ([]byte, error) {
	if bytes, ok := value.([]byte); ok {
		return bytes, nil
	}
	size := binary.Size(value)
	if size < 0 {
		return nil, invalidArgument("%T has no fixed size: use fixed-size integers, floats, bools, and arrays and structs of them", value)
	}
	return binary.Append(make([]byte, 0, size), binary.LittleEndian, value)
}
