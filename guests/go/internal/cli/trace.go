package cli

import (
	"fmt"
	"time"
)

// TraceArgs are the options of the exec tracers (execsnoop, exectrace):
// `--json`, `--ppid PID`, `--duration SECS`, `--help`.
type TraceArgs struct {
	JSON     bool
	PPID     uint32
	Duration time.Duration
	// Forever: no --duration was given.
	Forever bool
}

// ParseTraceArgs parses the tracers' options as their Rust twin does.
func ParseTraceArgs(list []string) (TraceArgs, error) {
	parsed := TraceArgs{Forever: true}
	for len(list) > 0 {
		arg := list[0]
		list = list[1:]
		value := func() (string, error) {
			if len(list) == 0 {
				return "", fmt.Errorf("%s needs a value", arg)
			}
			v := list[0]
			list = list[1:]
			return v, nil
		}
		switch arg {
		case "--json":
			parsed.JSON = true
		case "--ppid":
			v, err := value()
			if err != nil {
				return TraceArgs{}, err
			}
			ppid, ok := ParseUint32(v)
			if !ok {
				return TraceArgs{}, fmt.Errorf("bad --ppid %s", Quote(v))
			}
			parsed.PPID = ppid
		case "--duration":
			v, err := value()
			if err != nil {
				return TraceArgs{}, err
			}
			duration, _, ok := ParseSeconds(v)
			if !ok {
				return TraceArgs{}, fmt.Errorf("bad --duration %s", Quote(v))
			}
			parsed.Duration, parsed.Forever = duration, false
		case "-h", "--help":
			return TraceArgs{}, ErrHelp
		default:
			return TraceArgs{}, fmt.Errorf("unknown argument %s", Quote(arg))
		}
	}
	return parsed, nil
}
