package bpflet

import (
	"fmt"
	"strings"
	"unicode"

	types "bpflet.dev/guests/go/bindings/imports/bpflet_ebpf_types"
	witTypes "go.bytecodealliance.org/pkg/wit/types"
)

// Case names a case of the WIT error variant as the WIT spells it, so that
// logs and tests do not depend on Go naming.
type Case string

// The cases of the WIT error variant (types.wit).
const (
	// No program, map, global or attach target of that name exists.
	NotFound Case = "not-found"
	// An argument has the wrong size, shape or value.
	InvalidArgument Case = "invalid-argument"
	// The element already exists (update with UpdateNoExist).
	AlreadyExists Case = "already-exists"
	// The operation is not allowed: by bpflet's policy or by the kernel.
	PermissionDenied Case = "permission-denied"
	// The kernel or this build of bpflet does not offer the feature.
	Unsupported Case = "unsupported"
	// The operation does not fit the object's state (e.g. attach before load).
	InvalidState Case = "invalid-state"
	// The kernel refused to load a program: the verifier's verdict.
	LoadFailed Case = "load-failed"
	// Any other system error.
	OS Case = "os"
)

// Sentinels for errors.Is: errors.Is(err, bpflet.ErrNotFound) holds for
// every *Error of that case, whatever its message.
var (
	ErrNotFound         = &Error{sentinel: NotFound}
	ErrInvalidArgument  = &Error{sentinel: InvalidArgument}
	ErrAlreadyExists    = &Error{sentinel: AlreadyExists}
	ErrPermissionDenied = &Error{sentinel: PermissionDenied}
	ErrUnsupported      = &Error{sentinel: Unsupported}
	ErrInvalidState     = &Error{sentinel: InvalidState}
	ErrLoadFailed       = &Error{sentinel: LoadFailed}
	ErrOS               = &Error{sentinel: OS}
)

// Error is why a kernel operation failed: the WIT error variant. Every
// case carries a human-readable message; branch on Case (or errors.Is with
// the Err* sentinels), show Error to people.
type Error struct {
	raw types.Error
	// The case of a sentinel, which has no raw value; empty otherwise.
	sentinel Case
}

// Case is the variant's case, e.g. "not-found".
func (e *Error) Case() Case {
	if e.sentinel != "" {
		return e.sentinel
	}
	switch e.raw.Tag() {
	case types.Error_NotFound:
		return NotFound
	case types.Error_InvalidArgument:
		return InvalidArgument
	case types.Error_AlreadyExists:
		return AlreadyExists
	case types.Error_PermissionDenied:
		return PermissionDenied
	case types.Error_Unsupported:
		return Unsupported
	case types.Error_InvalidState:
		return InvalidState
	case types.Error_LoadFailed:
		return LoadFailed
	case types.Error_Os:
		return OS
	}
	return Case(fmt.Sprintf("case-%d", e.raw.Tag()))
}

// Message is the human-readable message, whatever the case.
func (e *Error) Message() string {
	if e.sentinel != "" {
		return ""
	}
	switch e.raw.Tag() {
	case types.Error_NotFound:
		return e.raw.NotFound()
	case types.Error_InvalidArgument:
		return e.raw.InvalidArgument()
	case types.Error_AlreadyExists:
		return e.raw.AlreadyExists()
	case types.Error_PermissionDenied:
		return e.raw.PermissionDenied()
	case types.Error_Unsupported:
		return e.raw.Unsupported()
	case types.Error_InvalidState:
		return e.raw.InvalidState()
	case types.Error_LoadFailed:
		return e.raw.LoadFailed().Message
	case types.Error_Os:
		return e.raw.Os().Message
	}
	return ""
}

// Errno is the positive errno of an "os" error, 0 for the other cases.
func (e *Error) Errno() uint32 {
	if e.sentinel == "" && e.raw.Tag() == types.Error_Os {
		return e.raw.Os().Errno
	}
	return 0
}

// VerifierLog is the tail of the verifier log of a "load-failed" error
// (where the verifier gave up and why), empty for the other cases.
func (e *Error) VerifierLog() string {
	if e.sentinel == "" && e.raw.Tag() == types.Error_LoadFailed {
		return e.raw.LoadFailed().VerifierLog
	}
	return ""
}

// Error is "case: message", as the Rust SDK prints it: an os error shows
// its errno ("os error 1: ...") and a verifier rejection its log, on lines
// of its own, since that is why the program was rejected.
func (e *Error) Error() string {
	switch {
	case e.Case() == OS:
		return fmt.Sprintf("os error %d: %s", e.Errno(), e.Message())
	case e.Case() == LoadFailed && strings.TrimSpace(e.VerifierLog()) != "":
		return fmt.Sprintf("load-failed: %s\nverifier log:\n%s",
			e.Message(), strings.TrimRightFunc(e.VerifierLog(), unicode.IsSpace))
	}
	return string(e.Case()) + ": " + e.Message()
}

// Is makes errors.Is(err, bpflet.ErrNotFound) and the like match by case.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.sentinel != "" && t.sentinel == e.Case()
}

// Raw is the variant as the bindings have it.
func (e *Error) Raw() types.Error {
	return e.raw
}

// invalidArgument is the error the SDK reports when a typed wrapper does not
// fit what the host returned or what the map is, as the host would.
func invalidArgument(format string, args ...any) error {
	return &Error{raw: types.MakeErrorInvalidArgument(fmt.Sprintf(format, args...))}
}

func invalidState(format string, args ...any) error {
	return &Error{raw: types.MakeErrorInvalidState(fmt.Sprintf(format, args...))}
}

func notFound(format string, args ...any) error {
	return &Error{raw: types.MakeErrorNotFound(fmt.Sprintf(format, args...))}
}

// result turns a WIT result into Go's (value, error).
func result[T any](r witTypes.Result[T, types.Error]) (T, error) {
	if r.IsErr() {
		var zero T
		return zero, &Error{raw: r.Err()}
	}
	return r.Ok(), nil
}

// check is result for results without a value.
func check(r witTypes.Result[witTypes.Unit, types.Error]) error {
	_, err := result(r)
	return err
}

// witError is the error variant as the bindings have it.
type witError = types.Error
