package drbdsetup

import (
	"fmt"
	"strings"
)

// Exit codes of drbdsetup.
const (
	// ExitNoResource is drbdsetup's code for a request the kernel refused,
	// such as one about a resource it does not have.
	ExitNoResource = 10
	// ExitStateChange is drbdsetup's code for a refused state change.
	ExitStateChange = 11
	// ExitUsage is drbdsetup's code for bad usage and for failures to talk
	// to DRBD at all.
	ExitUsage = 20
)

// option is an option a command accepts.
type option struct {
	long  string
	short byte
	// arg is "none", "optional" (--color[=WHEN]) or "required".
	arg string
}

// command describes a drbdsetup command line.
type command struct {
	name    string
	usage   string
	options []option
	// minArgs and maxArgs bound the positional arguments.
	minArgs, maxArgs int
	run              func(inv *invocation) int
}

// parsed is a command line split into options and arguments.
type parsed struct {
	flags map[string]string
	args  []string
}

func (p *parsed) has(long string) bool {
	_, ok := p.flags[long]
	return ok
}

// parse splits args the way getopt_long does for drbdsetup: options and
// arguments in any order, "--" ends the options.
func (cmd *command) parse(args []string) (*parsed, error) {
	p := &parsed{flags: make(map[string]string)}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			p.args = append(p.args, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			opt, err := cmd.long(name)
			if err != nil {
				return nil, err
			}
			switch {
			case opt.arg == "none" && hasValue:
				return nil, fmt.Errorf("option '--%s' doesn't allow an argument", opt.long)
			case opt.arg == "required" && !hasValue:
				if i+1 >= len(args) {
					return nil, fmt.Errorf("option '--%s' requires an argument", opt.long)
				}
				i++
				value = args[i]
			}
			p.flags[opt.long] = value
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				opt, ok := cmd.short(a[j])
				if !ok {
					return nil, fmt.Errorf("invalid option -- '%c'", a[j])
				}
				if opt.arg == "required" {
					return nil, fmt.Errorf("option '-%c' is not simulated", a[j])
				}
				p.flags[opt.long] = ""
			}
		default:
			p.args = append(p.args, a)
		}
	}
	switch {
	case len(p.args) < cmd.minArgs:
		return nil, fmt.Errorf("missing arguments")
	case len(p.args) > cmd.maxArgs:
		return nil, fmt.Errorf("excess arguments: %s", strings.Join(p.args[cmd.maxArgs:], " "))
	}
	return p, nil
}

// long finds an option by its long name or an unambiguous prefix of it, as
// getopt_long does.
func (cmd *command) long(name string) (option, error) {
	var matches []option
	for _, o := range cmd.options {
		if o.long == name {
			return o, nil
		}
		if name != "" && strings.HasPrefix(o.long, name) {
			matches = append(matches, o)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return option{}, fmt.Errorf("unrecognized option '--%s'", name)
	}
	return option{}, fmt.Errorf("option '--%s' is ambiguous", name)
}

func (cmd *command) short(c byte) (option, bool) {
	for _, o := range cmd.options {
		if o.short != 0 && o.short == c {
			return o, true
		}
	}
	return option{}, false
}
