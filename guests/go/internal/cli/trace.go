package cli

import (
	"fmt"
	"time"
)

// TraceArgs are the options the tracing examples share: `--json`, one
// process id flag (execsnoop and exectrace: `--ppid`, sizehist: `--pid`),
// `--duration SECS`, `--help`.
type TraceArgs struct {
	JSON bool
	// The value of the process id flag (0 when not given).
	ID       uint32
	Duration time.Duration
	// Forever: no --duration was given.
	Forever bool
}

// TraceParser parses the options, with `idFlag` for the process id, as
// the Rust twins do.
func TraceParser(idFlag string) func([]string) (TraceArgs, error) {
	return func(list []string) (TraceArgs, error) { return parseTraceArgs(list, idFlag) }
}

func parseTraceArgs(list []string, idFlag string) (TraceArgs, error) {
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
		case idFlag:
			v, err := value()
			if err != nil {
				return TraceArgs{}, err
			}
			id, ok := ParseUint32(v)
			if !ok {
				return TraceArgs{}, fmt.Errorf("bad %s %s", idFlag, Quote(v))
			}
			parsed.ID = id
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
